/**
 * BindPool against a misbehaving SMSC over loopback (issue 13): a half-dead bind, an SMSC
 * that drops every bind at once, malformed and wrong-type responses, late responses.
 */
import t from 'tap';
import { BindPool } from '../../src/carriers/smpp/bind-pool.js';
import type { SmppMetrics } from '../../src/carriers/smpp/metrics.js';
import type { SubmitOutcome } from '../../src/carriers/connector.js';
import { AdaptiveTokenBucket } from '../../src/scheduler/rate-limiter.js';
import { monotonicNow } from '../../src/domain/clock.js';
import { carrierFor, segment, startSim, until } from './helpers.js';

/** Metric hook calls, by name, and the wall-clock instant of each (the simulator records Date.now()). */
function counting(): { m: SmppMetrics; calls: Map<string, unknown[][]>; at: Map<string, number[]> } {
  const calls = new Map<string, unknown[][]>();
  const at = new Map<string, number[]>();
  const m = new Proxy({} as SmppMetrics, {
    get: (_t, name: string) => (...args: unknown[]) => {
      const l = calls.get(name) ?? [];
      l.push(args);
      calls.set(name, l);
      at.set(name, [...(at.get(name) ?? []), Date.now()]);
    },
  });
  return { m, calls, at };
}

const allBound = (p: BindPool) => () => p.binds().every((b) => b.state === 'bound');

t.test('silent bind: timed-out segments go out on the other bind, the silent one is closed and rebuilt', async (t) => {
  // Connection 0 answers 40 submit_sm and then no more, while still answering enquire_link.
  const sim = await startSim({ silentAfterSubmits: 40, faultConnections: [0] });
  t.teardown(() => sim.stop());
  const rt = 1; // response_timeout_s
  const { m, calls, at } = counting();
  // Paced at 50/s so that sending goes on well past the first timeout (about 2.6 s in).
  const limiter = new AdaptiveTokenBucket({ tps: 50, burst: 5, now: monotonicNow });
  const pool = new BindPool(carrierFor(sim.port, { binds: 2, window: 10, response_timeout_s: rt, enquire_link_s: 0.2 }), { metrics: m, limiter });
  t.teardown(() => pool.stop(0));
  pool.start();
  await until(allBound(pool));
  t.same(
    sim.connections().map((c) => c.index).sort(),
    [0, 1],
  );
  const outcomes = await Promise.all(Array.from({ length: 200 }, (_, i) => pool.submit(segment({ to: `86138${String(10000000 + i)}` }))));
  const kinds = outcomes.reduce<Record<string, number>>((a, o) => ((a[o.kind] = (a[o.kind] ?? 0) + 1), a), {});
  t.same(kinds, { accepted: 200 }, 'every message accepted');
  // Timed on the wire (the 50/s pacing is not the point): first submit_sm to the accepted one.
  const bound = (2 * rt + 10) * 1000;
  const first = new Map<string, number>();
  for (const s of sim.recorder.submits) if (!first.has(s.destination)) first.set(s.destination, s.time);
  const slowest = Math.max(...sim.recorder.submits.filter((s) => s.status === 0).map((s) => s.time - first.get(s.destination)!));
  t.ok(slowest <= bound, `slowest from first send to acceptance ${slowest} ms <= ${bound} ms`);
  const onSilent = sim.recorder.submits.filter((s) => s.conn === 0);
  const firstUnanswered = onSilent[40];
  t.ok(firstUnanswered, 'connection 0 got more than 40 submit_sm');
  // From the instant the pool saw the first timeout (a loaded machine runs timers late, so not
  // from the first unanswered write + response_timeout_s). A PDU written just before that
  // instant may be recorded a little after it: 100 ms of grace for the loopback hop.
  const firstTimeout = at.get('submitNoResp')?.[0] ?? Number.POSITIVE_INFINITY;
  t.ok(firstTimeout >= firstUnanswered!.time + rt * 1000 - 50, 'the first timeout came after response_timeout_s');
  const late = onSilent.filter((s) => s.time > firstTimeout + 100);
  t.equal(late.length, 0, 'nothing sent on the silent bind after its first timeout');
  t.ok(sim.recorder.submits.some((s) => s.time > firstTimeout + 500), 'while sending went on on the other bind');
  t.ok(onSilent.length <= 50, `at most a window beyond the 40th (${onSilent.length})`);
  await until(() => !sim.connections().some((c) => c.index === 0), 5000, 'silent connection closed');
  t.notOk(sim.connections().some((c) => c.index === 0), 'the silent connection was closed');
  await until(() => sim.recorder.binds.length >= 3 && pool.binds().every((b) => b.state === 'bound'), 5000, 'rebuilt');
  t.ok(pool.binds().every((b) => b.state === 'bound') && sim.recorder.binds.length >= 3, 'and rebuilt');
  t.equal(calls.get('silentBind')?.length, 1, 'counted once');
  // Each timed-out segment was accepted on the healthy connection: none sent twice on it.
  const healthy = sim.recorder.submits.filter((s) => s.conn !== 0 && s.status === 0);
  t.equal(healthy.length + 40, 200, 'every message accepted exactly once');
});

t.test('max_consecutive_timeouts: a single silent bind is rebuilt after N timeouts in a row', async (t) => {
  const sim = await startSim({ silentAfterSubmits: 1, faultConnections: [0] });
  t.teardown(() => sim.stop());
  const { m, calls } = counting();
  const pool = new BindPool(carrierFor(sim.port, { binds: 1, window: 5, response_timeout_s: 0.3, max_consecutive_timeouts: 2 }), { metrics: m });
  t.teardown(() => pool.stop(0));
  pool.start();
  await until(allBound(pool));
  const outcomes = await Promise.all(Array.from({ length: 4 }, () => pool.submit(segment())));
  // One answered on connection 0; the others timed out there, with no other bind to go to:
  // back to the caller as timeouts (it retries with backoff, or fails over).
  t.same(outcomes.map((o) => o.kind), ['accepted', 'timeout', 'timeout', 'timeout']);
  await until(() => !sim.connections().some((c) => c.index === 0), 3000, 'connection 0 closed');
  await until(allBound(pool), 3000, 'rebound');
  t.equal(sim.recorder.binds.length, 2, 'rebuilt once');
  t.equal(calls.get('silentBind')?.length, 1);
  t.equal((await pool.submit(segment())).kind, 'accepted', 'the rebuilt bind works');
});

t.test('reconnect storm: an SMSC that drops every bind after 100 ms sees log2-many binds in 30 s', async (t) => {
  const sim = await startSim({ dropAfterBindMs: 100 });
  t.teardown(() => sim.stop());
  // The defaults of the config: initial 200 ms, max 30 s, stable after 60 s.
  const pool = new BindPool(carrierFor(sim.port, { reconnect: {} }));
  t.teardown(() => pool.stop(0));
  pool.start();
  await new Promise((r) => setTimeout(r, 30000));
  const binds = sim.recorder.binds.filter((b) => b.status === 0).length;
  const limit = Math.ceil(Math.log2(30000 / 200)) + 2;
  t.ok(binds <= limit, `${binds} binds in 30 s (at most ${limit})`);
  t.ok(binds >= 3, 'it did keep trying');
});

t.test('reconnect.stable_after_s: the backoff resets only after the bind stayed up that long', async (t) => {
  const sim = await startSim({ dropAfterBindMs: 400 });
  t.teardown(() => sim.stop());
  // Up 400 ms each time, stable after 0.2 s: every drop starts again from initial_ms.
  const pool = new BindPool(carrierFor(sim.port, { reconnect: { initial_ms: 100, max_ms: 60000, stable_after_s: 0.2 } }), { random: () => 0.999 });
  t.teardown(() => pool.stop(0));
  pool.start();
  await until(() => sim.recorder.binds.length >= 5, 6000, 'five binds');
  const times = sim.recorder.binds.map((b) => b.time);
  const gaps = times.slice(1).map((x, i) => x - times[i]!);
  // 400 ms up + ~100 ms backoff each time; without the reset the fifth gap would be 400 + 1600.
  t.ok(gaps.every((g) => g < 1200), `gaps ${gaps.join(', ')} stay near 400 + initial_ms`);
});

t.test('submit_sm_resp status 0 with a malformed message_id is accepted and the id salvaged', async (t) => {
  for (const kind of ['no-nul', 'too-long'] as const) {
    t.test(kind, async (t) => {
      const sim = await startSim({ malformedMessageId: kind });
      t.teardown(() => sim.stop());
      const { m, calls } = counting();
      const pool = new BindPool(carrierFor(sim.port), { metrics: m });
      t.teardown(() => pool.stop(0));
      pool.start();
      await until(allBound(pool));
      const o = await pool.submit(segment());
      const sent = sim.recorder.submits[0]!.messageId!;
      t.same(o, { kind: 'accepted', carrierMessageId: sent }, `accepted with the id as sent (${sent.length} octets)`);
      t.equal(sim.recorder.submits.length, 1, 'not sent again');
      t.equal(calls.get('malformedMessageId')?.length, 1, 'counted');
      t.notOk(calls.has('decodeError'), 'not also counted as a decode error');
    });
  }
});

/** Reconfigure the simulator once its first submit_sm has been answered (the retry then finds it healthy). */
function healAfterFirst(sim: Awaited<ReturnType<typeof startSim>>, patch: Parameters<typeof sim.configure>[0]): void {
  sim.recorder.once('submit', () => setImmediate(() => sim.configure(patch)));
}

t.test('only a submit_sm_resp settles a submit_sm: a wrong-type PDU with its sequence number is a protocol error and the segment is retried', async (t) => {
  for (const command of ['enquire_link_resp', 'generic_nack', 'unbind_resp', 'deliver_sm_resp'] as const) {
    t.test(command, async (t) => {
      const sim = await startSim({ wrongResp: { every: 1, command } });
      t.teardown(() => sim.stop());
      const { m, calls } = counting();
      const pool = new BindPool(carrierFor(sim.port, { binds: 2 }), { metrics: m });
      t.teardown(() => pool.stop(0));
      pool.start();
      await until(allBound(pool));
      healAfterFirst(sim, { wrongResp: null });
      const o = (await pool.submit(segment())) as Extract<SubmitOutcome, { kind: 'accepted' }>;
      t.equal(o.kind, 'accepted', 'accepted in the end');
      t.ok(o.carrierMessageId !== '' && o.carrierMessageId === sim.recorder.submits[1]?.messageId, 'with the id of the real resp');
      t.equal(sim.recorder.submits.length, 2, 'sent again');
      t.not(sim.recorder.submits[0]!.conn, sim.recorder.submits[1]!.conn, 'on the other bind');
      t.same(calls.get('protocolError')?.map((c) => c[1]), [command], 'counted as a protocol error');
    });
  }
});

t.test('a submit_sm_resp with status 0 and no message_id is a protocol error, retried', async (t) => {
  const sim = await startSim({ malformedMessageId: 'empty' });
  t.teardown(() => sim.stop());
  const { m, calls } = counting();
  const pool = new BindPool(carrierFor(sim.port, { binds: 2 }), { metrics: m });
  t.teardown(() => pool.stop(0));
  pool.start();
  await until(allBound(pool));
  healAfterFirst(sim, { malformedMessageId: null });
  const o = await pool.submit(segment());
  t.equal(o.kind, 'accepted');
  t.ok(o.kind === 'accepted' && o.carrierMessageId !== '', 'with an id');
  t.equal(sim.recorder.submits.length, 2, 'sent again');
  t.same(calls.get('protocolError')?.map((c) => c[1]), ['submit_sm_resp']);
});

t.test('a submit_sm_resp after its timeout settles the segment when it has not gone out again', async (t) => {
  // One bind, resps 1.5 s late, response_timeout 1 s: the late resp is the answer, no second SMS.
  const sim = await startSim({ respDelayMs: 1500 });
  t.teardown(() => sim.stop());
  const { m, calls } = counting();
  const pool = new BindPool(carrierFor(sim.port, { binds: 1, response_timeout_s: 1 }), { metrics: m });
  t.teardown(() => pool.stop(0));
  pool.start();
  await until(allBound(pool));
  const o = await pool.submit(segment());
  t.equal(o.kind, 'accepted');
  t.equal(o.kind === 'accepted' && o.carrierMessageId, sim.recorder.submits[0]!.messageId, 'the id from the late resp');
  t.equal(sim.recorder.submits.length, 1, 'sent once');
  t.same(calls.get('lateResp')?.map((c) => c[1]), ['settled']);
});

t.test('drops: the first drop of a segment in flight is free, the next ones count as attempts', async (t) => {
  // The SMSC drops the connection on every submit_sm: a message that "kills the link".
  const sim = await startSim({ dropAfterSubmits: 1 });
  t.teardown(() => sim.stop());
  const pool = new BindPool(carrierFor(sim.port, { reconnect: { initial_ms: 10, max_ms: 20 } }));
  t.teardown(() => pool.stop(0));
  pool.start();
  await until(allBound(pool));
  const seg = segment();
  const seen: SubmitOutcome[] = [];
  for (let i = 0; i < 3; i++) {
    await until(allBound(pool), 3000, 'bound again');
    seen.push(await pool.submit(seg));
  }
  t.same(seen, [
    { kind: 'disconnected', inFlight: true, countsAsAttempt: false },
    { kind: 'disconnected', inFlight: true, countsAsAttempt: true },
    { kind: 'disconnected', inFlight: true, countsAsAttempt: true },
  ]);
  await until(allBound(pool), 3000, 'bound again');
  t.same(await pool.submit(segment()), { kind: 'disconnected', inFlight: true, countsAsAttempt: false }, 'another segment: its own count');
});
