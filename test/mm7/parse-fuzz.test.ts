/**
 * MM7 parsing under randomized input (fast-check): the real MMSC messages of the samples,
 * cut, spliced, with bytes flipped and markup characters dropped in, under random
 * Content-Types; and SOAP envelopes built from random trees of MM7 element names (repeated
 * elements, attributes, elements where text belongs). The parser answers with a message or
 * a typed error (mm7_malformed, mime_malformed: the receiver turns those into a SOAP Fault),
 * never another exception: a TypeError here would be a 500 without a Fault, or worse.
 */
import t from 'tap';
import fc from 'fast-check';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseMm7Http } from '../../src/mm7/mm7-message.js';
import { parseMm7Xml } from '../../src/mm7/soap-parse.js';
import { XingeError } from '../../src/domain/errors.js';

const dir = join(import.meta.dirname, 'fixtures', 'samples');
const samples = readdirSync(dir)
  .filter((f) => f !== 'README.md')
  .map((f) => ({ name: f, bytes: readFileSync(join(dir, f)) }));
const RUNS = Number(process.env.XINGE_FUZZ_RUNS ?? 300);

function typedOrParsed(fn: () => unknown): string | undefined {
  try {
    fn();
    return undefined;
  } catch (err) {
    if (err instanceof XingeError && (err.code === 'mm7_malformed' || err.code === 'mime_malformed')) return undefined;
    return err instanceof Error ? `${err.name}: ${err.message}\n${err.stack?.split('\n').slice(1, 4).join('\n')}` : String(err);
  }
}

const mutation = fc.oneof(
  fc.record({ op: fc.constant('cut' as const), at: fc.nat() }),
  fc.record({ op: fc.constant('drop' as const), at: fc.nat(), len: fc.integer({ min: 1, max: 400 }) }),
  fc.record({ op: fc.constant('dup' as const), at: fc.nat(), len: fc.integer({ min: 1, max: 400 }) }),
  fc.record({ op: fc.constant('flip' as const), at: fc.nat(), byte: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ op: fc.constant('insert' as const), at: fc.nat(), text: fc.constantFrom('<', '>', '&', '"', '--', '\r\n', '\r\n\r\n', '<![CDATA[', ']]>', '<!--', '&#0;', '&#xD800;', '<x>', '</', '=', ';', 'boundary=', '\u0000', '中文') }),
);

type Mutation = typeof mutation extends fc.Arbitrary<infer M> ? M : never;

function mutate(buf: Buffer, ms: Mutation[]): Buffer {
  let b = buf;
  for (const m of ms) {
    const at = b.length === 0 ? 0 : m.at % b.length;
    if (m.op === 'cut') b = b.subarray(0, at);
    else if (m.op === 'drop') b = Buffer.concat([b.subarray(0, at), b.subarray(at + m.len)]);
    else if (m.op === 'dup') b = Buffer.concat([b.subarray(0, at + m.len), b.subarray(at)]);
    else if (m.op === 'flip') {
      b = Buffer.from(b);
      if (b.length > 0) b[at] = m.byte;
    } else b = Buffer.concat([b.subarray(0, at), Buffer.from(m.text), b.subarray(at)]);
  }
  return b;
}

const contentType = fc.oneof(
  fc.constantFrom(
    undefined,
    'text/xml; charset=utf-8',
    'text/xml; charset=gb2312',
    'text/xml; charset=no-such-charset',
    'multipart/related; boundary=B',
    'multipart/related; type="text/xml"; boundary="NextPart_000_0028_01C19839.84698430"; start="</tnn-200102/mm7-vasp>"',
    'multipart/related; boundary=""',
    'multipart/related',
    'multipart/mixed; boundary="a b"; start=<x>',
    'application/octet-stream',
    '',
    ';;;',
  ),
  fc.string({ maxLength: 60 }),
);

t.test('the samples, mutated, under random Content-Types: a message or a typed error', async (t) => {
  // The samples' own Content-Type, where a whole HTTP POST gives one.
  let checked = 0;
  fc.assert(
    fc.property(fc.nat({ max: samples.length - 1 }), fc.array(mutation, { minLength: 1, maxLength: 4 }), contentType, (i, ms, ct) => {
      const body = mutate(samples[i]!.bytes, ms);
      checked++;
      const bad = typedOrParsed(() => parseMm7Http(ct, body)) ?? typedOrParsed(() => parseMm7Xml(body.toString('utf8')));
      if (bad !== undefined) throw new Error(`${samples[i]!.name} under ${JSON.stringify(ct)}: ${bad}`);
    }),
    { numRuns: RUNS * 4 },
  );
  t.ok(checked >= RUNS * 4, `${checked} mutated messages parsed or refused with a typed error`);
});

const NAMES = ['Envelope', 'Header', 'Body', 'TransactionID', 'SubmitRsp', 'DeliverReq', 'DeliveryReportReq', 'ReadReplyReq', 'Fault', 'detail', 'RSErrorRsp',
  'VASPErrorRsp', 'Status', 'StatusCode', 'StatusText', 'MessageID', 'MM7Version', 'Recipient', 'Recipients', 'To', 'Cc', 'Bcc', 'Sender', 'Number',
  'ShortCode', 'RFC2822Address', 'MMStatus', 'TimeStamp', 'Content', 'SenderIdentification', 'SenderAddress', 'faultcode', 'faultstring', 'Subject',
  'LinkedID', 'Priority', 'SubmitReq', 'DeliverRsp', '__proto__', 'constructor', 'toString', 'hasOwnProperty'];

interface El {
  name: string;
  attrs: Array<[string, string]>;
  kids: Array<El | string>;
}
const element: fc.Arbitrary<El> = fc.letrec<{ el: El }>((tie) => ({
  el: fc.record({
    name: fc.constantFrom(...NAMES),
    attrs: fc.array(fc.tuple(fc.constantFrom('href', 'xmlns', 'mustUnderstand', '__proto__', 'id'), fc.string({ maxLength: 8 }).map((s) => s.replace(/[<&"]/g, ''))), { maxLength: 2 }),
    kids: fc.array(fc.oneof({ depthSize: 'small' }, fc.oneof(fc.constantFrom('1000', '4004', '', ' 2000 ', 'x', '-1', '1e3', '99999999999999999999'), fc.string({ maxLength: 10 }).map((s) => s.replace(/[<&]/g, ''))), tie('el')), { maxLength: 4 }),
  }),
})).el;

function xmlOf(e: El | string): string {
  if (typeof e === 'string') return e;
  const attrs = e.attrs.map(([k, v]) => ` mm7:${k}="${v}"`).join('');
  return `<mm7:${e.name}${attrs}>${e.kids.map(xmlOf).join('')}</mm7:${e.name}>`;
}

t.test('SOAP envelopes from random trees of MM7 element names: a message or a typed error', async (t) => {
  let parsed = 0;
  let refused = 0;
  fc.assert(
    fc.property(fc.constantFrom('SubmitRsp', 'DeliverReq', 'DeliveryReportReq', 'ReadReplyReq', 'Fault', 'DeliverRsp', 'SubmitReq'), fc.array(element, { maxLength: 6 }), (kind, kids) => {
      const xml = `<?xml version="1.0"?><env:Envelope xmlns:env="http://schemas.xmlsoap.org/soap/envelope/" xmlns:mm7="http://www.3gpp.org/ftp/Specs/archive/23_series/23.140/schema/REL-6-MM7-1-4"><env:Body>${xmlOf({ name: kind, attrs: [], kids })}</env:Body></env:Envelope>`;
      try {
        const m = parseMm7Xml(xml);
        if (typeof m.kind !== 'string') throw new Error('a message without a kind');
        parsed++;
      } catch (err) {
        if (!(err instanceof XingeError && err.code === 'mm7_malformed')) throw new Error(`${kind}: ${(err as Error).stack}\n${xml}`);
        refused++;
      }
    }),
    { numRuns: RUNS * 4 },
  );
  t.ok(parsed > 0 && refused > 0, `${parsed} parsed, ${refused} refused with mm7_malformed`);
});
