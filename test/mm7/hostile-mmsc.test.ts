/**
 * A hostile MMSC, randomized (fast-check): each SubmitReq gets an answer drawn at random:
 * any HTTP status, SubmitRsp with any StatusCode and an odd MessageID (empty, long, binary),
 * SOAP Faults, the real samples mutated, bodies that are not XML, wrong or no Content-Type.
 * Every MMS still ends in a status the API documents (submitted, or a final one), every
 * answer of GET /v1/messages/{id} is 200, nothing answers 500, and afterwards a well-behaved
 * answer still gets an MMS submitted.
 */
import t from 'tap';
import fc from 'fast-check';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { auth, waitFor } from '../helpers/fixtures.js';
import { startMmsEnv } from './helpers/env.js';
import { PNG_1X1 } from './helpers/media.js';

const samples = join(import.meta.dirname, 'fixtures', 'samples');
const SUBMIT_RSP = readFileSync(join(samples, 'submit-rsp.xml'), 'utf8');
const FAULT = readFileSync(join(samples, 'fault.xml'), 'utf8');

interface Answer {
  status: number;
  contentType: string | undefined;
  body: string | Buffer;
}

const submitRsp = (code: string, id: string) =>
  `<?xml version="1.0"?><env:Envelope xmlns:env="http://schemas.xmlsoap.org/soap/envelope/"><env:Header><mm7:TransactionID xmlns:mm7="http://www.3gpp.org/ftp/Specs/archive/23_series/23.140/schema/REL-6-MM7-1-4">t</mm7:TransactionID></env:Header><env:Body><mm7:SubmitRsp xmlns:mm7="http://www.3gpp.org/ftp/Specs/archive/23_series/23.140/schema/REL-6-MM7-1-4"><mm7:MM7Version>6.8.0</mm7:MM7Version><mm7:Status><mm7:StatusCode>${code}</mm7:StatusCode><mm7:StatusText>x</mm7:StatusText></mm7:Status>${id === '\u0000none' ? '' : `<mm7:MessageID>${id}</mm7:MessageID>`}</mm7:SubmitRsp></env:Body></env:Envelope>`;

const xmlSafe = (s: string) => s.replace(/[<&\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/g, '').replace(/[\ud800-\udfff]/g, '');

const body = fc.oneof(
  { weight: 4, arbitrary: fc.tuple(fc.oneof(fc.constantFrom('1000', '1100', '2000', '2001', '3001', '4004', '4006', '0', '-1', '', 'x', '99999999999999999999'), fc.integer({ min: 0, max: 9999 }).map(String)), fc.oneof(fc.constantFrom('sim1', '041502073667', '', '\u0000none', 'a'.repeat(300)), fc.string({ maxLength: 20 }).map(xmlSafe))).map(([c, i]) => submitRsp(c, i)) },
  { weight: 1, arbitrary: fc.constantFrom(SUBMIT_RSP, FAULT, '', '<not xml', '{"ok":true}', '<html>502 Bad Gateway</html>') },
  { weight: 1, arbitrary: fc.tuple(fc.constantFrom(SUBMIT_RSP, FAULT), fc.nat(), fc.nat()).map(([s, a, b]) => s.slice(0, a % s.length) + s.slice((a % s.length) + (b % 40))) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 64 }).map((a) => Buffer.from(a)) },
);
const answer: fc.Arbitrary<Answer> = fc.record({
  status: fc.oneof({ weight: 3, arbitrary: fc.constant(200) }, { weight: 1, arbitrary: fc.constantFrom(201, 204, 302, 400, 401, 404, 413, 500, 502, 503) }),
  contentType: fc.constantFrom('text/xml; charset=utf-8', 'text/xml', 'application/soap+xml', 'text/html', 'multipart/related; boundary=B', undefined),
  body,
});

const SETTLED = new Set(['submitted', 'delivered', 'undeliverable', 'expired', 'rejected', 'failed', 'unknown']);

t.test('a hostile MMSC with random answers: every MMS settles, every read answers, nothing answers 500', async (t) => {
  let script: Answer[] = [];
  let served = 0;
  const mmsc = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const a = script[Math.min(served++, script.length - 1)]!;
      res.writeHead(a.status, a.contentType === undefined ? {} : { 'content-type': a.contentType });
      res.end(a.status === 204 ? undefined : a.body);
    });
  });
  await new Promise<void>((r) => mmsc.listen(0, '127.0.0.1', r));
  t.teardown(() => {
    mmsc.closeAllConnections();
    return new Promise((r) => mmsc.close(r));
  });
  const { env } = await startMmsEnv(t, { mmsc: { url: `http://127.0.0.1:${(mmsc.address() as AddressInfo).port}/mm7`, max_attempts: 2, retries: 0, retry_initial_ms: 10 } });
  const statuses = new Map<string, number>();
  await fc.assert(
    fc.asyncProperty(fc.array(answer, { minLength: 1, maxLength: 3 }), async (answers) => {
      script = answers;
      served = 0;
      const res = await env.app.http.inject({
        method: 'POST',
        url: '/v1/mms',
        headers: auth(),
        payload: { to: '13800138000', subject: '账单', category: 'notification', parts: [{ content_type: 'text/plain', text: '本期应还1,200.00元。' }, { content_type: 'image/png', content_base64: PNG_1X1.toString('base64') }] },
      });
      if (res.statusCode !== 202) throw new Error(`POST /v1/mms → ${res.statusCode} ${res.body}`);
      const id = res.json().id as string;
      const status = await waitFor(() => {
        const s = env.app.store.mms.get(id)?.status;
        return s !== undefined && SETTLED.has(s) ? s : undefined;
      }, 15000, `MMS ${id} settled after ${JSON.stringify(answers).slice(0, 300)}`);
      statuses.set(status, (statuses.get(status) ?? 0) + 1);
      const view = await env.app.http.inject({ method: 'GET', url: `/v1/messages/${id}`, headers: auth() });
      if (view.statusCode !== 200) throw new Error(`GET → ${view.statusCode} ${view.body}`);
      if (view.json().status !== status && !SETTLED.has(view.json().status)) throw new Error(`GET says ${view.json().status}`);
    }),
    { numRuns: Number(process.env.XINGE_FUZZ_RUNS ?? 80), endOnFailure: true },
  );
  t.ok(statuses.size >= 2, `outcomes: ${JSON.stringify(Object.fromEntries(statuses))}`);

  script = [{ status: 200, contentType: 'text/xml; charset=utf-8', body: submitRsp('1000', 'good-1') }];
  served = 0;
  const ok = await env.app.http.inject({ method: 'POST', url: '/v1/mms', headers: auth(), payload: { to: '13800138000', subject: '账单', category: 'notification', parts: [{ content_type: 'text/plain', text: '本期应还。' }] } });
  const id = ok.json().id as string;
  await waitFor(() => env.app.store.mms.get(id)?.status === 'submitted', 15000, 'submitted');
  t.match(env.app.store.mms.get(id), { status: 'submitted', mm7MessageId: 'good-1' }, 'a good answer after all that still submits');
});
