/** Every real-world sample in fixtures/samples (from vnesek/instantcom-mm7, see its README) parses. */
import t from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseMm7Http, partText } from '../../src/mm7/mm7-message.js';
import { parseMm7Xml } from '../../src/mm7/soap-parse.js';
import { parseSmil } from '../../src/mm7/smil.js';
import { normaliseContentId } from '../../src/mm7/mime.js';

const dir = join(import.meta.dirname, 'fixtures', 'samples');
const read = (f: string) => readFileSync(join(dir, f));

/** Split a whole HTTP request (the -post sample) into its Content-Type and body. */
function httpRequest(raw: Buffer): { contentType: string | undefined; body: Buffer } {
  const end = raw.indexOf('\r\n\r\n') >= 0 ? raw.indexOf('\r\n\r\n') + 4 : raw.indexOf('\n\n') + 2;
  const head = raw.subarray(0, end).toString('latin1');
  const ct = /^content-type:\s*(.+)$/im.exec(head)?.[1]?.trim();
  return { contentType: ct, body: raw.subarray(end) };
}

t.test('deliver-req-post.txt: a whole HTTP POST, start= selects the SOAP part', async (t) => {
  const { contentType, body } = httpRequest(read('deliver-req-post.txt'));
  const p = parseMm7Http(contentType, body);
  t.equal(p.message.kind, 'DeliverReq');
  if (p.message.kind !== 'DeliverReq') return;
  t.equal(p.message.transactionId, 'vas00324-dlvr', 'whitespace around the TransactionID trimmed');
  t.equal(p.message.version, '6.7.0');
  t.equal(p.message.sender, '97254265781@OMMS.com');
  t.equal(p.message.subject, 'Weather Forecast');
  t.equal(p.message.linkedId, 'wthr8391');
  t.equal(p.parts.length, 1);
  t.equal(p.parts[0]!.contentType, 'text/plain');
  t.equal(partText(p.parts[0]!), 'Los Angeles, Calif, USA ');
});

t.test('deliver-req1.txt: body only (boundary sniffed), padding after boundaries', async (t) => {
  const p = parseMm7Http(undefined, read('deliver-req1.txt'));
  t.equal(p.message.kind, 'DeliverReq');
  t.equal(p.parts.length, 1);
  t.equal(p.parts[0]!.contentId, 'forecast-location2000102-86453');
});

t.test('deliver-req2.txt: nested multipart/mixed with a boundary holding spaces; base64 GIF', async (t) => {
  const p = parseMm7Http(undefined, read('deliver-req2.txt'));
  t.same(p.parts.map((x) => x.contentType), ['text/plain', 'image/gif']);
  t.equal(partText(p.parts[0]!).trim(), 'Science news, new Saturn pictures...');
  t.equal(p.parts[1]!.data.subarray(0, 6).toString('latin1'), 'GIF87a');
  t.equal(p.parts[1]!.contentId, 'saturn.gif');
});

t.test('deliver-req3.txt: mm7p6a0 prefixes, a preamble, Type=/Start= capitalised, SMIL + GIF in base64', async (t) => {
  const p = parseMm7Http(undefined, read('deliver-req3.txt'));
  const m = p.message;
  t.equal(m.kind, 'DeliverReq');
  if (m.kind !== 'DeliverReq') return;
  t.equal(m.version, '6.8.0');
  t.equal(m.sender, '+3859100010010', '/TYPE=PLMN dropped');
  t.same(m.recipients, ['88888']);
  t.equal(normaliseContentId(m.contentHref!), '57626X20-1VO9-A93941F7');
  t.same(p.parts.map((x) => x.contentType), ['application/smil', 'image/gif']);
  const slides = parseSmil(partText(p.parts[0]!));
  t.same(slides, [{ durMs: 4000, media: [{ element: 'img', src: 'Bomb.gif' }] }]);
  t.equal(p.parts[1]!.location, 'Bomb.gif');
  t.equal(p.parts[1]!.data.subarray(0, 6).toString('latin1'), 'GIF89a');
});

t.test('deliver-req4.txt: a 300 KB base64 JPEG comes out byte-exact', async (t) => {
  const raw = read('deliver-req4.txt');
  const p = parseMm7Http(undefined, raw);
  t.equal(p.message.kind, 'DeliverReq');
  t.equal(p.message.transactionId, '0Q296S401H79CPSU13V1K431DRK3G49M');
  const jpeg = p.parts.find((x) => x.contentType === 'image/jpeg')!;
  // Independently: the base64 lines between the JPEG's headers and the next boundary.
  const text = raw.toString('latin1');
  const start = text.indexOf('\n\n', text.indexOf('Name=flowers_6.jpg')) + 2;
  const end = text.indexOf('\n--==Multipart==', start);
  const expected = Buffer.from(text.slice(start, end).replace(/\s+/g, ''), 'base64');
  t.ok(expected.length > 290000);
  t.ok(jpeg.data.equals(expected), 'decoded JPEG equals the base64 in the file');
  t.same([...jpeg.data.subarray(0, 2)], [0xff, 0xd8], 'JPEG SOI');
  t.equal(jpeg.filename, 'flowers_6.jpg');
  const smil = p.parts.find((x) => x.contentType === 'application/smil')!;
  t.equal(parseSmil(partText(smil))[0]!.media[0]!.src, 'flowers_.jpg');
});

t.test('deliver-req5.txt: SOAP-ENV prefix, mm7:href with a stray space, bare Content-ID, folded header, raw binary JPEG', async (t) => {
  const raw = read('deliver-req5.txt');
  const p = parseMm7Http(undefined, raw);
  const m = p.message;
  t.equal(m.kind, 'DeliverReq');
  if (m.kind !== 'DeliverReq') return;
  t.equal(m.transactionId, '11398c6a2e9f00000010');
  t.equal(m.sender, '+381600001200');
  t.same(m.recipients, ['121399']);
  t.equal(normaliseContentId(m.contentHref!), 'content_15');
  t.same(p.parts.map((x) => x.contentType), ['application/smil', 'image/jpeg']);
  const jpeg = p.parts[1]!;
  // Independently: the bytes between the JPEG part's blank line and the CRLF before the closing boundary.
  const headerAt = raw.indexOf('Content-Location: DCIM_11.jpg\r\n');
  const start = raw.indexOf('\r\n\r\n', headerAt) + 4;
  const end = raw.indexOf('\r\n------=_Part_25_182972131.1346680532641--');
  t.ok(jpeg.data.equals(raw.subarray(start, end)), 'binary part byte-exact');
  t.ok(jpeg.data.length > 18000, `${jpeg.data.length} bytes`);
});

t.test('submit-rsp.xml: wrong-release namespace, MessageID keeps its leading zero', async (t) => {
  const m = parseMm7Xml(read('submit-rsp.xml').toString('utf8'));
  t.equal(m.kind, 'SubmitRsp');
  if (m.kind !== 'SubmitRsp') return;
  t.equal(m.statusCode, 1000);
  t.equal(m.statusText, 'Success');
  t.equal(m.messageId, '041502073667');
  t.equal(m.transactionId, 'vas00001-sub');
  t.match(m.namespace, /REL-6-MM7-6-7$/);
});

t.test('fault.xml and fault_02.xml: SOAP Faults with RSErrorRsp details', async (t) => {
  const a = parseMm7Xml(read('fault.xml').toString('utf8'));
  t.match(a, { kind: 'Fault', faultCode: 'Client', faultString: 'Client error', statusCode: 4002, statusText: 'Unsupported version', transactionId: '123456', version: '6.8.0' });
  const b = parseMm7Xml(read('fault_02.xml').toString('utf8'));
  t.match(b, { kind: 'Fault', faultCode: 'env:Client', statusCode: 2002, statusText: 'Address Error', transactionId: '0_1500103103727', version: '5.3.0' });
  t.match(b.namespace, /REL-5-MM7-1-3$/);
});

t.test('smil-sample.xml and smil-sample2.xml', async (t) => {
  t.same(parseSmil(read('smil-sample.xml').toString('utf8')), [
    { durMs: 3000, media: [{ element: 'img', src: 'cid:image' }] },
    { durMs: 7000, media: [{ element: 'text', src: 'cid:text' }] },
  ]);
  t.same(parseSmil(read('smil-sample2.xml').toString('utf8')), [
    { durMs: 5000, media: [{ element: 'img', src: 'cid:image' }, { element: 'text', src: 'cid:text' }] },
  ]);
});

t.test('malformed input: typed errors, never a crash', async (t) => {
  t.throws(() => parseMm7Xml('<not xml'), { code: 'mm7_malformed' });
  t.throws(() => parseMm7Xml('<a/>'), { code: 'mm7_malformed' });
  t.throws(() => parseMm7Xml('<e:Envelope xmlns:e="x"><e:Body><SubmitRsp><Status><StatusCode>x</StatusCode></Status></SubmitRsp></e:Body></e:Envelope>'), { code: 'mm7_malformed' });
  t.throws(() => parseMm7Http('multipart/related; boundary=B', Buffer.from('garbage')), { code: 'mime_malformed' });
  t.throws(() => parseMm7Http('multipart/related; boundary=B', Buffer.from('--B\r\nContent-Type: image/png\r\n\r\nx\r\n--B--')), { code: 'mm7_malformed' });
});
