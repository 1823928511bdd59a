/** The MM7 receiver over loopback: Basic auth, Faults for what does not parse, DeliverReq → MO webhook, ReadReplyReq recorded. */
import t from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { request } from 'undici';
import { auth, waitFor } from '../helpers/fixtures.js';
import { parseMm7Http } from '../../src/mm7/mm7-message.js';
import { RECEIVER_AUTH, startMmsEnv } from './helpers/env.js';

const samples = join(import.meta.dirname, 'fixtures', 'samples');

async function post(url: string, body: string | Buffer, headers: Record<string, string>) {
  const res = await request(url, { method: 'POST', body, headers });
  const buf = Buffer.from(await res.body.arrayBuffer());
  return { status: res.statusCode, headers: res.headers, body: buf };
}

const READ_REPLY = (messageId: string) => `<?xml version="1.0"?>
<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Header>
<mm7:TransactionID xmlns:mm7="http://www.3gpp.org/ftp/Specs/archive/23_series/23.140/schema/REL-5-MM7-1-3" soap:mustUnderstand="1">rr-1</mm7:TransactionID></soap:Header>
<soap:Body><mm7:ReadReplyReq xmlns:mm7="http://www.3gpp.org/ftp/Specs/archive/23_series/23.140/schema/REL-5-MM7-1-3">
<mm7:MM7Version>5.3.0</mm7:MM7Version><mm7:MessageID>${messageId}</mm7:MessageID>
<mm7:Recipient><mm7:Number>8613800138000</mm7:Number></mm7:Recipient><mm7:Sender><mm7:ShortCode>10690001</mm7:ShortCode></mm7:Sender>
<mm7:TimeStamp>2026-12-06T12:00:00+08:00</mm7:TimeStamp><mm7:MMStatus>Read</mm7:MMStatus></mm7:ReadReplyReq></soap:Body></soap:Envelope>`;

t.test('receiver: 401 without or with wrong Basic auth; SOAP Fault (500) for malformed; the daemon keeps serving', async (t) => {
  const { env, receiverUrl } = await startMmsEnv(t);
  const xml = { 'content-type': 'text/xml; charset=utf-8' };
  const none = await post(receiverUrl, READ_REPLY('x'), xml);
  t.equal(none.status, 401);
  t.match(none.headers['www-authenticate'], /^Basic/);
  const wrong = await post(receiverUrl, READ_REPLY('x'), { ...xml, authorization: `Basic ${Buffer.from('mmsc:nope').toString('base64')}` });
  t.equal(wrong.status, 401);
  for (const body of ['<not xml', '<a/>', 'garbage', '']) {
    const r = await post(receiverUrl, body, { ...xml, authorization: RECEIVER_AUTH });
    t.equal(r.status, 500, `malformed ${JSON.stringify(body)}`);
    t.match(parseMm7Http(r.headers['content-type'] as string, r.body).message, { kind: 'Fault', faultCode: 'env:Client', statusCode: 2007 });
  }
  const broken = await post(receiverUrl, Buffer.from('--B\r\nContent-Type: text/xml\r\n\r\n<x'), { 'content-type': 'multipart/related; boundary=B', authorization: RECEIVER_AUTH });
  t.equal(broken.status, 500);
  // A request the receiver does not take (a SubmitReq) gets a Client Fault too.
  const submit = readFileSync(join(import.meta.dirname, 'fixtures', 'golden', 'submit-req-default.mime'));
  const sep = submit.indexOf('\r\n\r\n');
  const ct = submit.subarray(0, sep).toString('latin1').replace(/^Content-Type: /, '');
  const wrongKind = await post(receiverUrl, submit.subarray(sep + 4), { 'content-type': ct, authorization: RECEIVER_AUTH });
  t.equal(wrongKind.status, 500);
  t.match(parseMm7Http(wrongKind.headers['content-type'] as string, wrongKind.body).message, { kind: 'Fault', statusCode: 2000, transactionId: 'mms_0001' });
  t.equal((await env.app.http.inject({ method: 'GET', url: '/healthz' })).statusCode, 200);
  const metrics = (await env.app.http.inject({ method: 'GET', url: '/metrics' })).body;
  t.match(metrics, /xinge_mm7_receiver_requests_total\{kind="none",result="unauthorized"\} 2/);
  t.match(metrics, /xinge_mm7_receiver_requests_total\{kind="malformed",result="fault"\} 5/);
});

t.test('DeliverReq (MO MMS, the 400 KB sample with a JPEG) fires the MO webhook with its parts', async (t) => {
  const { env, hooks, receiverUrl } = await startMmsEnv(t);
  const body = readFileSync(join(samples, 'deliver-req4.txt'));
  const r = await post(receiverUrl, body, {
    'content-type': 'multipart/related; type="text/xml"; boundary="==MM7-SOAP==96ac8e10-0e3a-4c9f-9b2f-3730f3801bff"; start="<mm7-soap>"',
    authorization: RECEIVER_AUTH,
  });
  t.equal(r.status, 200);
  t.match(parseMm7Http(r.headers['content-type'] as string, r.body).message, { kind: 'DeliverRsp', statusCode: 1000, transactionId: '0Q296S401H79CPSU13V1K431DRK3G49M', version: '6.8.0' });
  const hook = await waitFor(() => hooks.find((h) => h.json.type === 'mms.mo'), 30000, 'MO MMS webhook');
  const parts = hook.json.parts as Array<Record<string, unknown>>;
  t.same(parts.map((p) => p.content_type), ['image/jpeg', 'application/smil']);
  const expected = parseMm7Http(undefined, body).parts[0]!.data;
  t.ok(Buffer.from(parts[0]!.content_base64 as string, 'base64').equals(expected), 'JPEG byte-exact in the webhook');
  t.match(parts[1]!.text, /<smil>/);
  t.equal(hook.headers['x-xinge-signature']?.toString().startsWith('sha256='), true);

  // The whole-POST sample, text part, default namespace and env: prefix.
  const post2 = readFileSync(join(samples, 'deliver-req-post.txt'));
  const split = post2.indexOf('\r\n\r\n') >= 0 ? post2.indexOf('\r\n\r\n') + 4 : post2.indexOf('\n\n') + 2;
  const ct = /content-type:\s*(.+)/i.exec(post2.subarray(0, split).toString('latin1'))![1]!.trim();
  const r2 = await post(receiverUrl, post2.subarray(split), { 'content-type': ct, authorization: RECEIVER_AUTH });
  t.equal(r2.status, 200);
  const hook2 = await waitFor(() => hooks.find((h) => h.json.type === 'mms.mo' && h.json.subject === 'Weather Forecast'), 30000, 'second MO webhook');
  t.match(hook2.json, { linked_id: 'wthr8391', parts: [{ content_type: 'text/plain', text: 'Los Angeles, Calif, USA ' }] });
});

t.test('ReadReplyReq is recorded on its MMS; a report for an unknown MessageID is answered 1000 and counted', async (t) => {
  const { env, receiverUrl } = await startMmsEnv(t);
  const a = (await env.app.http.inject({ method: 'POST', url: '/v1/mms', headers: auth(), payload: { to: '13800138000', category: 'notification', parts: [{ content_type: 'text/plain', text: '账单' }] } })).json();
  await waitFor(() => env.app.store.mms.get(a.id)?.status === 'delivered', 30000, 'delivered');
  const r = await post(receiverUrl, READ_REPLY('sim00000001'), { 'content-type': 'text/xml', authorization: RECEIVER_AUTH });
  t.equal(r.status, 200);
  t.match(parseMm7Http(r.headers['content-type'] as string, r.body).message, { kind: 'ReadReplyRsp', statusCode: 1000, transactionId: 'rr-1', version: '5.3.0' });
  t.match(parseMm7Http(r.headers['content-type'] as string, r.body).message.namespace, /REL-5-MM7-1-3$/, 'answered in the namespace it was asked in');
  const view = (await env.app.http.inject({ method: 'GET', url: `/v1/messages/${a.id}`, headers: auth() })).json();
  t.equal(view.read_status, 'Read');
  const dr = READ_REPLY('nope').replace(/ReadReplyReq/g, 'DeliveryReportReq').replace('<mm7:MMStatus>Read', '<mm7:MMStatus>Retrieved');
  const r2 = await post(receiverUrl, dr, { 'content-type': 'text/xml', authorization: RECEIVER_AUTH });
  t.equal(r2.status, 200);
  const metrics = (await env.app.http.inject({ method: 'GET', url: '/metrics' })).body;
  t.match(metrics, /xinge_mm7_delivery_reports_total\{mmsc="unmatched",mm_status="Retrieved"\} 1/);
});
