/**
 * Issue 21, caller-ID in a cluster: two nodes (each its own PostgreSQL store connection and
 * node id, its own CallerIdService and poller as attachCallerId wires them) on one database,
 * against the provider simulator over loopback, one injected clock for all:
 * - both pollers ticking at once poll each registration once per due time;
 * - registrations a node took and then died with are polled by the other after the claim's
 *   lease, not before;
 * - a create still asking the provider on one node is not sent again by the other's poller;
 * - an API operation on a registration another node holds is refused (operation_pending).
 */
import t, { type Test } from 'tap';
import Fastify from 'fastify';
import { Registry } from 'prom-client';
import { startTestPostgres } from '../helpers/postgres.js';
import { freshPgDatabase } from '../helpers/store-backends.js';
import { baseConfigObject, makeConfig, tempDir, waitFor } from '../helpers/fixtures.js';
import { APP_KEY, APP_SECRET, Clock, cardBody, startProviderSim } from '../callerid/helpers.js';
import { openStore, type Store } from '../../src/store/index.js';
import { attachCallerId, type CallerId } from '../../src/callerid/index.js';
import { callerIdClaimLeaseMs } from '../../src/callerid/claim-lease.js';
import { createLogger } from '../../src/observability/logger.js';
import type { CallerIdProviderSim } from '../../src/sim/callerid-provider.js';
import type { Config } from '../../src/config/schema.js';

const db = await startTestPostgres(t);
const MIN = 60_000;
/** The organisation's numbers: one card each (the provider allows a number on one card). */
const NUMBERS = Array.from({ length: 8 }, (_, i) => `+865718888000${i}`);
const card = (i: number) => cardBody({ numbers: [NUMBERS[i]] });

interface Node {
  store: Store;
  callerId: CallerId;
}

async function cluster(t: Test, backoffMs = 1) {
  const { url } = await freshPgDatabase(t, db!);
  const clock = new Clock();
  const sim = await startProviderSim(t, { now: clock.now, reviewMs: 24 * 60 * MIN, activateMs: MIN, validityDays: 365 });
  const obj = baseConfigObject(tempDir(t)) as Record<string, any>;
  obj.clients.push({ name: 'cid', token: 'test-token-callerid-1', scopes: ['callerid'] });
  obj.caller_id = {
    base_url: sim.baseUrl, app_key: APP_KEY, app_secret: APP_SECRET, numbers: NUMBERS, timeout_ms: 3000, max_attempts: 3,
    backoff: { initial_ms: backoffMs, max_ms: backoffMs }, poll_s: 60, logo: { max_bytes: 150 },
  };
  const cfg: Config = makeConfig(obj);
  const node = (nodeId: string): Node => {
    const store = openStore({ driver: 'postgres', path: '', url, nodeId });
    const http = Fastify();
    const callerId = attachCallerId({ http, store, config: () => cfg, registry: new Registry(), logger: createLogger('silent'), now: clock.now, isDraining: () => false })!;
    t.teardown(async () => {
      await callerId.stop();
      await http.close();
      await store.close();
    });
    return { store, callerId };
  };
  return { clock, sim, cfg, a: node('node-a'), b: node('node-b'), lease: callerIdClaimLeaseMs(cfg.caller_id!) };
}

const polls = (sim: CallerIdProviderSim) => sim.requests.filter((r) => r.method === 'GET');
const creates = (sim: CallerIdProviderSim) => sim.requests.filter((r) => r.method === 'POST');

if (db !== undefined) {
  t.test('two nodes polling at once: each registration polled once per due time', async (t) => {
    const { clock, sim, a, b } = await cluster(t);
    const ids: string[] = [];
    for (let i = 0; i < 6; i++) ids.push((await a.callerId.service.create('cid', card(i))).registration.id);
    t.equal(creates(sim).length, 6);
    for (let round = 1; round <= 3; round++) {
      clock.advance(MIN);
      const [first, second] = round % 2 === 0 ? [b, a] : [a, b];
      await Promise.all([first.callerId.poller.tick(), second.callerId.poller.tick()]);
      t.equal(polls(sim).length, 6 * round, `round ${round}: six polls, not twelve`);
      t.equal(new Set(polls(sim).slice(-6).map((r) => r.target)).size, 6, `round ${round}: each card once`);
    }
  });

  t.test('a node that dies holding registrations: the other polls them once the claim runs out, not before', async (t) => {
    const { clock, sim, a, b, lease } = await cluster(t);
    for (let i = 0; i < 4; i++) await a.callerId.service.create('cid', card(i));
    clock.advance(MIN);
    // Node a takes them for its pass and dies before polling any (no release).
    t.equal(a.store.callerId.claimDue(clock.now(), 100, lease).length, 4);
    await a.store.close();
    const before = polls(sim).length;
    await b.callerId.poller.tick();
    clock.advance(lease - 1);
    await b.callerId.poller.tick();
    t.equal(polls(sim).length, before, 'nothing polled while the dead node\'s claim holds');
    clock.advance(1);
    await b.callerId.poller.tick();
    t.equal(polls(sim).length, before + 4, 'each polled once after it');
    t.same(b.callerId.service.list(undefined, undefined, 10).map((r) => r.status), ['pending_review', 'pending_review', 'pending_review', 'pending_review']);
  });

  t.test('a create waiting for the provider on one node is not sent by the other node\'s poller; once deferred, it is', async (t) => {
    const { clock, sim, a, b } = await cluster(t, 300);
    // The provider answers 503 for a minute: node a's create tries three times, 300 ms apart, inline.
    sim.failFor(503, MIN);
    const creating = a.callerId.service.create('cid', card(0));
    await waitFor(() => creates(sim).length >= 1, 10_000, 'the first attempt');
    // Stored and due at once (for a restart), but claimed by node a while it asks.
    await b.callerId.poller.tick();
    const res = await creating;
    t.equal(res.deferred, true, 'deferred after its three attempts');
    t.equal(creates(sim).length, 3, 'three attempts, all node a\'s: node b sent none');
    // Deferred: node a released it, so any node's poller retries it.
    sim.clearFaults();
    clock.advance(MIN);
    await b.callerId.poller.tick();
    t.equal(creates(sim).length, 4, 'node b\'s poller sent the retry');
    t.equal(new Set(creates(sim).map((r) => r.requestId)).size, 1, 'one X-Request-Id throughout');
    t.equal(sim.cards().length, 1, 'one card');
    t.equal(b.callerId.service.get(res.registration.id, 'cid').status, 'pending_review');
  });

  t.test('an API operation on a registration another node holds is refused; once released it goes through', async (t) => {
    const { clock, a, b, lease } = await cluster(t);
    const { registration } = await a.callerId.service.create('cid', card(0));
    t.ok(a.store.callerId.claim(registration.id, clock.now(), lease), 'node a holds it (its poller, say)');
    await t.rejects(b.callerId.service.update(registration.id, 'cid', { display_name: '信鸽金融科技' }), { code: 'operation_pending', status: 409 });
    await t.rejects(b.callerId.service.remove(registration.id, 'cid'), { code: 'operation_pending' });
    a.store.callerId.release(registration.id);
    const upd = await b.callerId.service.update(registration.id, 'cid', { display_name: '信鸽金融科技' });
    t.equal(upd.registration.displayName, '信鸽金融科技');
    t.ok(a.store.callerId.claim(registration.id, clock.now(), lease), 'node b released it after its update');
  });
}
