/**
 * Golden files of the generated SubmitReq (SPEC 9): no copy of the XSD is available offline,
 * so these pin the bytes. Regenerate after a deliberate change with UPDATE_GOLDEN=1.
 */
import t from 'tap';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import iconv from 'iconv-lite';
import { buildSubmitReq, type Mm7Profile, type SubmitMessage } from '../../src/mm7/submit-req.js';
import { parseMm7Http, partText } from '../../src/mm7/mm7-message.js';
import { parseSmil } from '../../src/mm7/smil.js';
import { mm7Time } from '../../src/mm7/soap-build.js';
import { GIF_1X1, JPEG_BYTES, PDF_BYTES, PNG_1X1 } from './helpers/media.js';

const golden = join(import.meta.dirname, 'fixtures', 'golden');

const base: Mm7Profile = {
  namespace: 'http://www.3gpp.org/ftp/Specs/archive/23_series/23.140/schema/REL-6-MM7-1-4',
  version: '6.8.0',
  namespacePrefix: false,
  vaspId: 'xinge',
  vasId: 'loan',
  serviceCode: 'svc01',
  sender: '10690001',
  senderAddressAs: 'short_code',
  soapCharset: 'utf-8',
  textCharset: 'utf-8',
  content: 'related',
  transferEncoding: 'binary',
  deliveryReport: true,
  allowAdaptations: true,
};
const T0 = Date.UTC(2026, 11, 6, 4, 30, 0);
const msg: SubmitMessage = {
  transactionId: 'mms_0001',
  recipients: ['8613800138000'],
  subject: '您的12月账单',
  linkedId: 'mo-4711',
  timeStamp: T0,
  expiryDate: T0 + 86400_000,
  parts: [
    { contentType: 'text/plain', text: '尊敬的张三，您本期应还1,200.00元。' },
    { contentType: 'image/jpeg', data: JPEG_BYTES, filename: 'bill.jpg' },
    { contentType: 'text/plain', text: '详见附件。' },
    { contentType: 'image/png', data: PNG_1X1 },
    { contentType: 'image/gif', data: GIF_1X1 },
    { contentType: 'application/pdf', data: PDF_BYTES, filename: '账单.pdf' },
  ],
};

function checkGolden(t: { ok(v: unknown, m: string): unknown }, name: string, body: Buffer, contentType: string): void {
  const file = join(golden, name);
  const withType = Buffer.concat([Buffer.from(`Content-Type: ${contentType}\r\n\r\n`, 'latin1'), body]);
  if (process.env.UPDATE_GOLDEN === '1') writeFileSync(file, withType);
  t.ok(readFileSync(file).equals(withType), `${name} matches its golden file`);
}

const ORDER = ['MM7Version', 'SenderIdentification', 'Recipients', 'ServiceCode', 'LinkedID', 'TimeStamp', 'ExpiryDate', 'DeliveryReport', 'Priority', 'Subject', 'Content'];

t.test('TimeStamp carries +08:00', async (t) => {
  t.equal(mm7Time(T0), '2026-12-06T12:30:00+08:00');
});

t.test('default profile: REL-6-MM7-1-4 / 6.8.0, no prefix, multipart/related with SMIL, UTF-8, binary parts', async (t) => {
  const b = buildSubmitReq(base, msg);
  checkGolden(t, 'submit-req-default.mime', b.body, b.contentType);
  t.match(b.contentType, /^multipart\/related; boundary="[^"]+"; type="text\/xml"; start="<mm7-soap>"$/);
  // Schema order of SubmitReqType's children, as generated.
  const names = [...b.soapXml.matchAll(/^ {6}<([A-Za-z0-9]+)[ >/]/gm)].map((m) => m[1]);
  t.same(names, ORDER);
  t.match(b.soapXml, /<TransactionID xmlns="http:\/\/www\.3gpp\.org\/[^"]+REL-6-MM7-1-4" env:mustUnderstand="1">mms_0001<\/TransactionID>/);
  t.match(b.soapXml, /<SenderIdentification>\s*<VASPID>xinge<\/VASPID>\s*<VASID>loan<\/VASID>\s*<SenderAddress>\s*<ShortCode>10690001<\/ShortCode>/);
  t.match(b.soapXml, /<Content href="cid:mm7-content" allowAdaptations="true"\/>/);
  t.notMatch(b.soapXml, /mm7:/);

  const p = parseMm7Http(b.contentType, b.body);
  t.match(p.message, { kind: 'SubmitReq', version: '6.8.0', transactionId: 'mms_0001', recipients: ['8613800138000'], subject: '您的12月账单', vaspId: 'xinge', sender: '10690001', linkedId: 'mo-4711', deliveryReport: true });
  t.same(p.parts.map((x) => x.contentType), ['application/smil', 'text/plain', 'image/jpeg', 'text/plain', 'image/png', 'image/gif', 'application/pdf']);
  t.ok(p.parts[2]!.data.equals(JPEG_BYTES), 'JPEG byte-exact');
  t.ok(p.parts[6]!.data.equals(PDF_BYTES));
  t.equal(partText(p.parts[1]!), '尊敬的张三，您本期应还1,200.00元。');
  // One slide per image with the text that follows it; every cid: resolves to a part.
  const slides = parseSmil(partText(p.parts[0]!));
  t.same(slides.map((s) => s.media.map((m) => `${m.element}:${m.src}`)), [
    ['text:cid:p1.txt'],
    ['img:cid:p2.jpg', 'text:cid:p3.txt'],
    ['img:cid:p4.png'],
    ['img:cid:p5.gif'],
    ['ref:cid:p6.pdf'],
  ]);
  const ids = new Set(p.parts.map((x) => x.contentId));
  for (const s of slides) for (const m of s.media) t.ok(ids.has(m.src.slice(4)), `${m.src} resolves`);
});

t.test('REL-5-MM7-1-3 / 5.3.0 with mm7: prefix, multipart/mixed, GBK, base64 parts', async (t) => {
  const profile: Mm7Profile = {
    ...base,
    namespace: 'http://www.3gpp.org/ftp/Specs/archive/23_series/23.140/schema/REL-5-MM7-1-3',
    version: '5.3.0',
    namespacePrefix: true,
    soapCharset: 'gbk',
    textCharset: 'gbk',
    content: 'mixed',
    transferEncoding: 'base64',
    senderAddressAs: 'number',
  };
  const b = buildSubmitReq(profile, { ...msg, linkedId: undefined, expiryDate: undefined });
  checkGolden(t, 'submit-req-rel5-gbk-mixed.mime', b.body, b.contentType);
  t.match(b.soapXml, /<mm7:SubmitReq xmlns:mm7="[^"]+REL-5-MM7-1-3">/);
  t.match(b.soapXml, /<mm7:TransactionID xmlns:mm7="[^"]+" env:mustUnderstand="1">/);
  t.match(b.soapXml, /<mm7:MM7Version>5\.3\.0<\/mm7:MM7Version>/);
  t.match(b.soapXml, /^<\?xml version="1.0" encoding="GBK"\?>/);
  t.notMatch(b.soapXml, /LinkedID|ExpiryDate/, 'optional elements left out');
  // The SOAP part is GBK on the wire and the subject survives.
  t.ok(b.body.includes(iconv.encode('您的12月账单', 'gbk')));
  t.notOk(b.body.includes(Buffer.from('您的12月账单', 'utf8')));
  const p = parseMm7Http(b.contentType, b.body);
  t.match(p.message, { kind: 'SubmitReq', subject: '您的12月账单', version: '5.3.0', sender: '10690001' });
  t.same(p.parts.map((x) => x.contentType), ['text/plain', 'image/jpeg', 'text/plain', 'image/png', 'image/gif', 'application/pdf'], 'no SMIL in multipart/mixed');
  t.equal(p.parts[0]!.charset, 'gbk');
  t.equal(partText(p.parts[0]!), '尊敬的张三，您本期应还1,200.00元。');
  t.ok(p.parts[1]!.data.equals(JPEG_BYTES), 'base64 JPEG decodes byte-exact');
  t.match(p.parts[5]!.filename, /^=\?UTF-8\?B\?/, 'a Chinese filename travels as an encoded word');
});

t.test('same input, same bytes; a different transaction, a different boundary', async (t) => {
  t.ok(buildSubmitReq(base, msg).body.equals(buildSubmitReq(base, msg).body));
  t.not(buildSubmitReq(base, { ...msg, transactionId: 'x2' }).contentType, buildSubmitReq(base, msg).contentType);
});
