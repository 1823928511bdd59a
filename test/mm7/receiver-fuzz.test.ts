/**
 * The MM7 receiver under randomized requests (fast-check), over loopback with Basic auth:
 * delivery reports and read replies for known and unknown MessageIDs with any MMStatus,
 * DeliverReqs (MO MMS) whose multipart parts carry any content type, charset and transfer
 * encoding, and the real samples mutated, under random Content-Types. Every request is
 * answered: 200 with the matching *Rsp, or 500 with a SOAP Fault; every MMS still reads
 * 200 afterwards and the daemon stays ready.
 */
import t from 'tap';
import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { request } from 'undici';
import { auth, waitFor } from '../helpers/fixtures.js';
import { parseMm7Http } from '../../src/mm7/mm7-message.js';
import { RECEIVER_AUTH, startMmsEnv } from './helpers/env.js';

const samples = join(import.meta.dirname, 'fixtures', 'samples');
const SAMPLE_POSTS = ['deliver-req1.txt', 'deliver-req2.txt', 'deliver-req3.txt', 'deliver-req5.txt'].map((f) => readFileSync(join(samples, f)));
const NS = 'http://www.3gpp.org/ftp/Specs/archive/23_series/23.140/schema/REL-6-MM7-1-4';
const xmlSafe = (s: string) => s.replace(/[<&\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/g, '').replace(/[\ud800-\udfff]/g, '');

const envelope = (inner: string) =>
  `<?xml version="1.0"?><env:Envelope xmlns:env="http://schemas.xmlsoap.org/soap/envelope/"><env:Header><mm7:TransactionID xmlns:mm7="${NS}">fz</mm7:TransactionID></env:Header><env:Body>${inner}</env:Body></env:Envelope>`;

const text = fc.oneof(fc.constantFrom('', 'Retrieved', 'Read', 'Deleted', 'Expired', 'Rejected', 'Indeterminate', 'Forwarded', 'Unrecognised', '8613800138000', '+8613800138000/TYPE=PLMN'), fc.string({ maxLength: 16 }).map(xmlSafe));

function report(kind: 'DeliveryReportReq' | 'ReadReplyReq', id: string, status: string, stamp: string, recipient: string): string {
  return envelope(
    `<mm7:${kind} xmlns:mm7="${NS}"><mm7:MM7Version>6.8.0</mm7:MM7Version><mm7:MessageID>${id}</mm7:MessageID><mm7:Recipient><mm7:Number>${recipient}</mm7:Number></mm7:Recipient><mm7:Sender><mm7:ShortCode>10690001</mm7:ShortCode></mm7:Sender><mm7:TimeStamp>${stamp}</mm7:TimeStamp><mm7:MMStatus>${status}</mm7:MMStatus><mm7:StatusText>${status}</mm7:StatusText></mm7:${kind}>`,
  );
}

interface Part {
  type: string;
  cte: string;
  data: Buffer;
}
function deliverReq(sender: string, subject: string, parts: Part[]): { contentType: string; body: Buffer } {
  const soap = envelope(
    `<mm7:DeliverReq xmlns:mm7="${NS}"><mm7:MM7Version>6.8.0</mm7:MM7Version><mm7:Sender><mm7:Number>${sender}</mm7:Number></mm7:Sender><mm7:Recipients><mm7:To><mm7:ShortCode>10690001</mm7:ShortCode></mm7:To></mm7:Recipients><mm7:Subject>${subject}</mm7:Subject><mm7:Content href="cid:content"/></mm7:DeliverReq>`,
  );
  const inner = Buffer.concat(
    parts.flatMap((p, i) => [
      Buffer.from(`--IN\r\nContent-Type: ${p.type}\r\nContent-ID: <p${i}>\r\n${p.cte === '' ? '' : `Content-Transfer-Encoding: ${p.cte}\r\n`}\r\n`),
      p.cte === 'base64' ? Buffer.from(p.data.toString('base64')) : p.data,
      Buffer.from('\r\n'),
    ]).concat([Buffer.from('--IN--\r\n')]),
  );
  const body = Buffer.concat([
    Buffer.from(`--OUT\r\nContent-Type: text/xml; charset=utf-8\r\nContent-ID: <soap>\r\n\r\n${soap}\r\n--OUT\r\nContent-Type: multipart/mixed; boundary=IN\r\nContent-ID: <content>\r\n\r\n`),
    inner,
    Buffer.from('\r\n--OUT--\r\n'),
  ]);
  return { contentType: 'multipart/related; type="text/xml"; boundary=OUT; start="<soap>"', body };
}

const part: fc.Arbitrary<Part> = fc.record({
  type: fc.constantFrom('text/plain; charset=utf-8', 'text/plain; charset=gb2312', 'text/plain; charset=utf-16', 'text/plain; charset=no-such', 'text/plain', 'image/jpeg', 'application/smil', 'application/octet-stream', '', ';;', 'multipart/mixed; boundary=IN'),
  cte: fc.constantFrom('', 'base64', 'quoted-printable', '8bit', 'binary', 'x-unknown'),
  data: fc.oneof(fc.string({ maxLength: 40 }).map((s) => Buffer.from(s)), fc.uint8Array({ maxLength: 64 }).map((a) => Buffer.from(a)), fc.constantFrom(Buffer.from('=E4=BD=A0=E5=A5=BD=\r\n='), Buffer.from('not base64!!'))),
});

const requestArb = (knownIds: string[]) =>
  fc.oneof(
    {
      weight: 3,
      arbitrary: fc
        .record({ kind: fc.constantFrom('DeliveryReportReq' as const, 'ReadReplyReq' as const), id: fc.oneof(fc.constantFrom(...knownIds), text), status: text, stamp: fc.oneof(fc.constantFrom('2026-12-06T12:00:00+08:00', '9999-99-99', ''), text), recipient: text })
        .map((r) => ({ contentType: 'text/xml; charset=utf-8' as string | undefined, body: Buffer.from(report(r.kind, r.id, r.status, r.stamp, r.recipient)) })),
    },
    { weight: 2, arbitrary: fc.record({ sender: text, subject: text, parts: fc.array(part, { maxLength: 4 }) }).map((r) => deliverReq(r.sender, r.subject, r.parts) as { contentType: string | undefined; body: Buffer }) },
    {
      weight: 1,
      arbitrary: fc.record({ i: fc.nat({ max: SAMPLE_POSTS.length - 1 }), at: fc.nat(), len: fc.nat({ max: 200 }), ct: fc.constantFrom(undefined, 'text/xml', 'multipart/related; boundary=B', 'multipart/related') }).map(({ i, at, len, ct }) => {
        const s = SAMPLE_POSTS[i]!;
        const a = at % s.length;
        return { contentType: ct, body: Buffer.concat([s.subarray(0, a), s.subarray(a + len)]) };
      }),
    },
  );

t.test('the MM7 receiver under random requests: each answered with its Rsp or a Fault; MMS still read, daemon ready', async (t) => {
  const { env, hooks, receiverUrl } = await startMmsEnv(t);
  const mmsIds: string[] = [];
  for (let i = 0; i < 3; i++) {
    const a = (await env.app.http.inject({ method: 'POST', url: '/v1/mms', headers: auth(), payload: { to: '13800138000', category: 'notification', parts: [{ content_type: 'text/plain', text: `账单 ${i}` }] } })).json();
    mmsIds.push(a.id as string);
  }
  for (const id of mmsIds) await waitFor(() => env.app.store.mms.get(id)?.status === 'delivered', 30000, 'delivered');
  const knownIds = mmsIds.map((id) => env.app.store.mms.get(id)!.mm7MessageId!);
  const outcomes = new Map<string, number>();
  await fc.assert(
    fc.asyncProperty(requestArb(knownIds), async (req) => {
      const res = await request(receiverUrl, {
        method: 'POST',
        body: req.body,
        headers: { ...(req.contentType === undefined ? {} : { 'content-type': req.contentType }), authorization: RECEIVER_AUTH },
        headersTimeout: 10000,
        bodyTimeout: 10000,
      });
      const body = Buffer.from(await res.body.arrayBuffer());
      if (res.statusCode !== 200 && res.statusCode !== 500) throw new Error(`answered ${res.statusCode}: ${body.toString().slice(0, 200)}`);
      const kind = parseMm7Http(res.headers['content-type'] as string, body).message.kind;
      if (res.statusCode === 500 ? kind !== 'Fault' : !kind.endsWith('Rsp')) throw new Error(`${res.statusCode} with ${kind}`);
      outcomes.set(kind, (outcomes.get(kind) ?? 0) + 1);
    }),
    { numRuns: Number(process.env.XINGE_FUZZ_RUNS ?? 150), endOnFailure: true },
  );
  t.ok(outcomes.size >= 3, `answers: ${JSON.stringify(Object.fromEntries(outcomes))}`);
  for (const id of mmsIds) {
    const v = await env.app.http.inject({ method: 'GET', url: `/v1/messages/${id}`, headers: auth() });
    t.equal(v.statusCode, 200, v.body);
  }
  t.equal((await env.app.http.inject({ method: 'GET', url: '/readyz' })).statusCode, 200, 'ready');
  t.equal((await env.app.http.inject({ method: 'GET', url: '/metrics' })).statusCode, 200, 'metrics answer');
  t.ok(hooks.length > 0, `${hooks.length} webhooks reached the receiver`);
});
