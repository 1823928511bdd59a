/**
 * A DeliveryReportReq that comes before its MMS has recorded the SubmitRsp's MessageID (a fast
 * MMSC, a busy daemon, a crash in between) is held and applied once the MessageID is known,
 * not dropped: dropped, the MMS stayed `submitted` until report_timeout_s and then ended
 * `unknown` although it was delivered (found by test/mm7/kill-loop.test.ts).
 */
import t from 'tap';
import { request } from 'undici';
import { auth, waitFor } from '../helpers/fixtures.js';
import { buildDeliveryReportReq, DEFAULT_MM7_NAMESPACE, DEFAULT_MM7_VERSION } from '../../src/mm7/soap-build.js';
import { RECEIVER_AUTH, startMmsEnv } from './helpers/env.js';

const dialect = { namespace: DEFAULT_MM7_NAMESPACE, version: DEFAULT_MM7_VERSION, namespacePrefix: false };
const mms = { to: '13800138000', subject: '账单', category: 'notification', parts: [{ content_type: 'text/plain', text: '您本期应还1,200元' }] };

async function postReport(url: string, messageId: string, mmStatus: string): Promise<number> {
  const xml = buildDeliveryReportReq(dialect, { transactionId: `early-${messageId}`, messageId, recipient: '+8613800138000', sender: '10690001', timeStamp: Date.now(), mmStatus });
  const res = await request(url, { method: 'POST', headers: { 'content-type': 'text/xml; charset=utf-8', authorization: RECEIVER_AUTH }, body: xml });
  await res.body.dump();
  return res.statusCode;
}

t.test('a report ahead of its MessageID is held, then ends the MMS when the MessageID is recorded', async (t) => {
  const { env, sim, hooks, receiverUrl } = await startMmsEnv(t);
  delete sim.options.reportUrl; // this test sends the reports
  // The simulator's first SubmitRsp carries MessageID sim00000001: its report comes first.
  t.equal(await postReport(receiverUrl, 'sim00000001', 'Rejected'), 200, 'answered 200 (an MMSC told otherwise resends forever)');
  const res = await env.app.http.inject({ method: 'POST', url: '/v1/mms', headers: auth(), payload: mms });
  t.equal(res.statusCode, 202, res.body);
  const id = res.json().id as string;
  const rec = await waitFor(() => {
    const r = env.app.store.mms.get(id);
    return r !== undefined && r.status !== 'queued' && r.status !== 'submitting' && r.status !== 'submitted' ? r : undefined;
  }, 10000, 'the held report applied');
  t.match(rec, { status: 'rejected', mm7MessageId: 'sim00000001', mmStatus: 'Rejected' }, 'the held report ended it');
  await waitFor(() => env.app.store.mms.heldReports('sim00000001').length === 0, 5000, 'no longer held');
  const hook = await waitFor(() => hooks.find((h) => h.json.message_id === id && h.json.status === 'rejected'), 10000, 'status webhook');
  t.match(hook.json, { type: 'message.status', carrier: 'mmsc' });

  // A report for a MessageID no MMS ever gets stays held, and changes nothing.
  t.equal(await postReport(receiverUrl, 'not-ours-1', 'Retrieved'), 200);
  t.equal(env.app.store.mms.heldReports('not-ours-1').length, 1, 'held');
  t.equal(await env.app.mms.reconcileHeldReports(), 0, 'nothing to match');
});

t.test('held, then the MessageID recorded without the report applied (a crash in between): the reconcile sweep applies it', async (t) => {
  const { env, sim, receiverUrl } = await startMmsEnv(t);
  delete sim.options.reportUrl;
  const store = env.app.store;
  t.equal(await postReport(receiverUrl, 'mm7-crash-1', 'Retrieved'), 200);
  const res = await env.app.http.inject({ method: 'POST', url: '/v1/mms', headers: auth(), payload: { ...mms, send_at: new Date(Date.now() + 3_600_000).toISOString() } });
  t.equal(res.statusCode, 202, res.body);
  const id = res.json().id as string;
  // What a daemon that died after recording the SubmitRsp leaves: the MMS submitted with the
  // MessageID, its report still held.
  await store.commit.run(() => {
    t.equal(store.mms.claimDue(Date.now() + 7_200_000, 10).length, 1);
    store.mms.markSubmitted(id, 'mm7-crash-1', 1000, 'Success', Date.now());
  });
  t.equal(store.mms.get(id)?.status, 'submitted');
  t.equal(await env.app.mms.reconcileHeldReports(), 1, 'one held report applied');
  t.match(store.mms.get(id), { status: 'delivered', mmStatus: 'Retrieved' });
  t.same(store.mms.heldReports('mm7-crash-1'), []);
  t.equal(await env.app.mms.reconcileHeldReports(), 0, 'applied once');
});

t.test('retention: final MMS and the MM7 requests received go after store.retention_days, open MMS stay', async (t) => {
  let clock = Date.now();
  const { env, sim, receiverUrl } = await startMmsEnv(t, { now: () => clock });
  delete sim.options.reportUrl;
  const store = env.app.store;
  const res = await env.app.http.inject({ method: 'POST', url: '/v1/mms', headers: auth(), payload: mms });
  const id = res.json().id as string;
  await waitFor(() => store.mms.get(id)?.status === 'submitted', 10000, 'submitted');
  t.equal(await postReport(receiverUrl, 'sim00000001', 'Retrieved'), 200);
  t.equal(await postReport(receiverUrl, 'never-ours', 'Retrieved'), 200);
  await waitFor(() => store.mms.get(id)?.status === 'delivered', 10000, 'delivered');
  const open = await env.app.http.inject({ method: 'POST', url: '/v1/mms', headers: auth(), payload: { ...mms, send_at: new Date(clock + 400 * 86_400_000).toISOString() } });
  const openId = open.json().id as string;
  t.equal(store.mms.heldReports('never-ours').length, 1, 'the unmatched report is held');
  env.app.mms.purge();
  t.equal(store.mms.get(id)?.status, 'delivered', 'within retention: kept');
  clock += (env.app.config().store.retention_days + 1) * 86_400_000;
  env.app.mms.purge();
  t.equal(store.mms.get(id), undefined, 'the final MMS went');
  t.equal(store.mms.heldReports('never-ours').length, 0, 'the reports went, the held one too');
  t.equal(store.mms.get(openId)?.status, 'scheduled', 'an open MMS stays');
});
