/**
 * Issue 18, points 4, 6, 7: registrations are stored; the poller refreshes the ones not
 * final, with backoff; a status change and an expiry within expiry_warning_days fire the
 * webhook once each; a rejection with its reason; a 503 storm (the create deferred, retried
 * with the same X-Request-Id, across a restart); metrics by provider status and by result.
 * Against the provider simulator over loopback, one injected clock for both.
 */
import t from 'tap';
import { auth, waitFor } from '../helpers/fixtures.js';
import { verifyWebhook } from '../../src/webhooks/sign.js';
import { CID_TOKEN, HOOK_SECRET, callerIdEnv, hookServer, type CallerIdEnv } from './fixtures/app-env.js';
import { Clock, cardBody, startProviderSim } from './helpers.js';

const cid = auth(CID_TOKEN);
const MIN = 60_000;
const DAY = 86_400_000;

async function create(env: CallerIdEnv, over: Record<string, unknown> = {}) {
  const res = await env.inject({ method: 'POST', url: '/v1/caller-id', headers: cid, payload: cardBody(over) });
  if (res.statusCode !== 202) throw new Error(res.body);
  return res.json() as { id: string; card_id: string | null; status: string; pending: string | null };
}

const status = async (env: CallerIdEnv, id: string) => (await env.inject({ method: 'GET', url: `/v1/caller-id/${id}`, headers: cid })).json();

/** Events delivered so far, after giving the outbox worker time to send any stragglers. */
async function settledHooks(env: CallerIdEnv, n: number) {
  await waitFor(() => env.hooks.length >= n, 10_000, `${n} webhooks`);
  await new Promise((r) => setTimeout(r, 700)); // the outbox polls every 500 ms: a duplicate would show by now
  return env.hooks.map((h) => h.json);
}

t.test('pending_review -> approved -> active: one webhook per change, one expiry warning, polls stop when final', async (t) => {
  const env = await callerIdEnv(t, { simOptions: { reviewMs: 10 * MIN, activateMs: 5 * MIN, validityDays: 20 }, callerId: { expiry_warning_days: 30 } });
  const reg = await create(env);
  t.equal(reg.status, 'pending_review');
  await env.tick();
  t.equal(env.sim.requests.length, 1, 'nothing due before poll_s');
  env.clock.advance(MIN);
  await env.tick();
  t.equal(env.sim.requests.length, 2, 'polled after poll_s');
  t.equal((await status(env, reg.id)).status, 'pending_review');
  env.clock.advance(9 * MIN);
  await env.tick();
  t.equal((await status(env, reg.id)).status, 'approved');
  env.clock.advance(MIN);
  await env.tick();
  env.clock.advance(4 * MIN);
  await env.tick();
  const active = await status(env, reg.id);
  t.match(active, { status: 'active', effective_at: new Date(env.clock.t).toISOString(), expires_at: new Date(env.clock.t + 20 * DAY).toISOString() });
  for (let i = 0; i < 3; i++) {
    env.clock.advance(MIN);
    await env.tick();
  }
  const events = await settledHooks(env, 3);
  t.same(
    events.map((e) => [e.type, e.status, e.previous_status]),
    [
      ['caller_id.status', 'approved', 'pending_review'],
      ['caller_id.status', 'active', 'approved'],
      ['caller_id.expiring', 'active', undefined],
    ],
    'each change once, the warning once, through repeated polls',
  );
  t.match(events[2], { registration_id: reg.id, card_id: reg.card_id, expires_at: active.expires_at, display_name: '信鸽金融' });
  for (const h of env.hooks) {
    t.ok(verifyWebhook(HOOK_SECRET, String(h.headers['x-xinge-timestamp']), h.body, String(h.headers['x-xinge-signature'])), 'signed by the outbox');
    t.equal(h.headers['x-xinge-event-id'], h.json.id);
  }
  // The provider expires it: a final status, announced once, then no more polling.
  env.clock.advance(20 * DAY);
  await env.tick();
  t.equal((await status(env, reg.id)).status, 'expired');
  const before = env.sim.requests.length;
  env.clock.advance(10 * MIN);
  await env.tick();
  t.equal(env.sim.requests.length, before, 'a final registration is not polled');
  const all = await settledHooks(env, 4);
  t.same(all.slice(3).map((e) => [e.type, e.status]), [['caller_id.status', 'expired']]);

  const metrics = (await env.inject({ method: 'GET', url: '/metrics' })).body;
  t.match(metrics, /xinge_callerid_provider_responses_total\{op="create",status="201"\} 1/);
  t.match(metrics, /xinge_callerid_provider_responses_total\{op="get",status="200"\} \d+/);
  t.match(metrics, /xinge_callerid_operations_total\{op="create",result="ok"\} 1/);
  t.match(metrics, /xinge_callerid_operations_total\{op="poll",result="changed"\} 3/);
  t.match(metrics, /xinge_callerid_operations_total\{op="poll",result="unchanged"\} \d+/);
  t.match(metrics, /xinge_callerid_registrations\{status="expired"\} 1/);
  t.match(metrics, /xinge_callerid_registrations\{status="active"\} 0/);
  t.match(metrics, /xinge_callerid_events_total\{type="caller_id.expiring"\} 1/);
});

t.test('a rejection with its reason, announced once; a PUT sends it back to review', async (t) => {
  const env = await callerIdEnv(t, { simOptions: { reviewMs: 2 * MIN, activateMs: MIN } });
  env.sim.rejectReviews('logo does not match the licensed name');
  const reg = await create(env);
  env.sim.rejectReviews(undefined);
  env.clock.advance(2 * MIN);
  await env.tick();
  t.match(await status(env, reg.id), { status: 'rejected', reason: 'logo does not match the licensed name' });
  const polls = env.sim.requests.length;
  env.clock.advance(5 * MIN);
  await env.tick();
  t.equal(env.sim.requests.length, polls, 'rejected is final: not polled');
  const events = await settledHooks(env, 1);
  t.same(events.map((e) => [e.type, e.status, e.reason]), [['caller_id.status', 'rejected', 'logo does not match the licensed name']]);
  const put = await env.inject({ method: 'PUT', url: `/v1/caller-id/${reg.id}`, headers: cid, payload: { display_name: '信鸽金融科技' } });
  t.equal(put.statusCode, 202);
  t.match(put.json(), { status: 'pending_review', reason: null });
  env.clock.advance(2 * MIN);
  await env.tick();
  t.equal((await status(env, reg.id)).status, 'approved', 'polled again after the update');
  const metrics = (await env.inject({ method: 'GET', url: '/metrics' })).body;
  t.match(metrics, /xinge_callerid_events_total\{type="caller_id.status"\} 2/);
});

t.test('a 503 storm: the create is stored and deferred, retried with backoff and one X-Request-Id, across a restart', async (t) => {
  const clock = new Clock();
  const sim = await startProviderSim(t, { now: clock.now, reviewMs: 10 * MIN, activateMs: MIN });
  const hooks = await hookServer(t);
  const env = await callerIdEnv(t, { clock, sim, hooks });
  sim.failFor(503, 30 * MIN);
  const reg = await create(env);
  t.match(reg, { status: 'submitting', pending: 'create', card_id: null }, '202: stored, the provider has not confirmed');
  t.equal(sim.requests.length, 3, 'max_attempts inline');
  const requestIds = new Set(sim.requests.map((r) => r.requestId));
  t.equal(requestIds.size, 1, 'one X-Request-Id');
  t.equal(new Set(sim.requests.map((r) => r.nonce)).size, 3, 'fresh nonces');

  // Backoff: the deferred create is due after backoff.initial_ms (1 ms), then 2, 4 … ms.
  const row = () => env.ta.app.store.callerId.get(reg.id)!;
  t.equal(row().failures, 1);
  t.equal(row().nextCheckAt, clock.t + 1);
  clock.advance(1);
  await env.tick();
  t.equal(sim.requests.length, 4, 'the poller tries once per turn');
  t.equal(row().failures, 2);
  t.equal(row().nextCheckAt, clock.t + 2);
  sim.failFor(429, 30 * MIN, 120);
  clock.advance(2);
  await env.tick();
  t.equal(row().nextCheckAt, clock.t + 120_000, 'Retry-After over the backoff');
  clock.advance(60_000);
  await env.tick();
  t.equal(sim.requests.length, 5, 'not before Retry-After');

  // The daemon restarts during the storm; the stored create resumes with its X-Request-Id.
  await env.ta.close();
  const env2 = await callerIdEnv(t, { clock, sim, hooks, dir: env.dir });
  sim.clearFaults();
  clock.advance(60_000);
  await env2.tick();
  const after = await status(env2, reg.id);
  t.match(after, { status: 'pending_review', pending: null, card_id: /^card_/ });
  t.equal(sim.cards().length, 1, 'one card');
  t.same(new Set(sim.requests.map((r) => r.requestId)), requestIds, 'every attempt, before and after the restart, with the same X-Request-Id');
  t.same(sim.requests.map((r) => r.status), [503, 503, 503, 503, 429, 201]);
  const events = await settledHooks(env2, 1);
  t.same(events.map((e) => [e.type, e.status, e.previous_status]), [['caller_id.status', 'pending_review', 'submitting']]);

  // A storm while polling: backoff from poll_s, doubling, honouring Retry-After.
  sim.failFor(503, 60 * MIN);
  clock.advance(MIN);
  await env2.tick();
  t.equal(env2.ta.app.store.callerId.get(reg.id)!.nextCheckAt, clock.t + MIN);
  clock.advance(MIN);
  await env2.tick();
  t.equal(env2.ta.app.store.callerId.get(reg.id)!.nextCheckAt, clock.t + 2 * MIN, 'doubled');
  const metrics = (await env2.inject({ method: 'GET', url: '/metrics' })).body;
  t.match(metrics, /xinge_callerid_provider_responses_total\{op="get",status="503"\} 2/);
  t.match(metrics, /xinge_callerid_operations_total\{op="poll",result="deferred"\} 2/);
  t.match(metrics, /xinge_callerid_operations_total\{op="create",result="ok"\} 1/);
});

t.test('a deferred create the provider then refuses ends refused, announced; a revoke deferred in a storm', async (t) => {
  const env = await callerIdEnv(t, { simOptions: { reviewMs: 60 * MIN } });
  const first = await create(env);
  env.sim.failFor(503, 10 * MIN);
  const second = await create(env, { display_name: '另一家' }); // same number as the first: the provider will refuse it
  t.equal(second.status, 'submitting');
  const busy = await env.inject({ method: 'PUT', url: `/v1/caller-id/${second.id}`, headers: cid, payload: { display_name: '信鸽' } });
  t.equal(busy.statusCode, 409);
  t.match(busy.json(), { error: { code: 'operation_pending' } });
  t.equal((await env.inject({ method: 'DELETE', url: `/v1/caller-id/${second.id}`, headers: cid })).statusCode, 409, 'no revoke of a card still being created');
  env.sim.clearFaults();
  env.clock.advance(MIN);
  await env.tick();
  t.match(await status(env, second.id), { status: 'refused', pending: null, reason: /already on card card_000001/ });
  const events = await settledHooks(env, 1);
  t.same(events.map((e) => [e.type, e.status, e.previous_status]), [['caller_id.status', 'refused', 'submitting']]);
  const deleted = await env.inject({ method: 'DELETE', url: `/v1/caller-id/${second.id}`, headers: cid });
  t.match(deleted.json(), { status: 'revoked' }, 'a refused registration is deleted locally: no card to revoke');

  env.sim.failFor(503, 10 * MIN);
  const del = await env.inject({ method: 'DELETE', url: `/v1/caller-id/${first.id}`, headers: cid });
  t.equal(del.statusCode, 202, 'the revoke is stored and deferred');
  t.match(del.json(), { status: 'pending_review', pending: 'delete' });
  t.equal(env.sim.cards().length, 1);
  env.sim.clearFaults();
  env.clock.advance(MIN);
  await env.tick();
  t.match(await status(env, first.id), { status: 'revoked', pending: null });
  t.equal(env.sim.cards().length, 0, 'revoked at the provider');
});
