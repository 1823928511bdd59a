/**
 * BindPool in leased mode (issue 21) against the simulator over loopback: a bind connects
 * only while its account slot is open; closeSlot closes it hard (socket destroyed, no
 * unbind awaited) or soft (in-flight answered, unbind, then closed) and it stays closed;
 * submits in flight on a closed bind go to another bind or back to the caller as for a drop.
 */
import t from 'tap';
import { BindPool } from '../../src/carriers/smpp/bind-pool.js';
import type { SubmitOutcome } from '../../src/carriers/connector.js';
import { carrierFor, segment, startSim, until } from './helpers.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const boundIndexes = (p: BindPool) => p.binds().filter((b) => b.state === 'bound').map((b) => b.bindIndex);

t.test('nothing connects until a slot is opened; openSlot binds that slot only', async (t) => {
  const sim = await startSim();
  t.teardown(() => sim.stop());
  const pool = new BindPool(carrierFor(sim.port, { binds: 3 }), { leased: true });
  t.teardown(() => pool.stop(0));
  t.ok(pool.leased);
  pool.start();
  // Several reconnect intervals (max 100 ms here): a pool that connected anyway would have.
  await sleep(500);
  t.equal(sim.recorder.binds.length, 0, 'no bind attempted');
  t.notOk(pool.isUp());
  t.same(await pool.submit(segment()), { kind: 'disconnected' }, 'no slot: the caller gets it back at once');
  t.ok(pool.binds().every((b) => b.state === 'closed'));
  pool.openSlot(1);
  await until(() => pool.isUp(), 10000, 'slot 1 bound');
  t.same(boundIndexes(pool), [1]);
  t.same(pool.openSlots(), [1]);
  t.match(sim.accountStats('xinge'), { binds: 1, maxBinds: 1 });
  t.same((await pool.submit(segment())).kind, 'accepted');
  pool.openSlot(1); // opening an open slot again changes nothing
  await sleep(200);
  t.equal(sim.recorder.binds.length, 1, 'one bind, not two');
  // A slot still open is rebuilt after the SMSC drops it, like any bind.
  sim.drop();
  await until(() => sim.recorder.binds.length === 2 && pool.isUp(), 10000, 'slot 1 re-bound after the drop');
  t.same(boundIndexes(pool), [1]);
});

t.test('hard close: socket gone at once, no unbind waited for, and it does not reconnect', async (t) => {
  const sim = await startSim();
  t.teardown(() => sim.stop());
  const pool = new BindPool(carrierFor(sim.port, { binds: 2 }), { leased: true });
  t.teardown(() => pool.stop(0));
  pool.start();
  pool.openSlot(0);
  pool.openSlot(1);
  await until(() => boundIndexes(pool).length === 2, 10000, 'both bound');
  // A silent SMSC would never answer an unbind: a hard close must not depend on it.
  sim.configure({ silent: true });
  const started = Date.now();
  await pool.closeSlot(0, 'hard');
  const took = Date.now() - started;
  t.ok(took < 1000, `closed in ${took} ms without waiting on the SMSC (response timeout 5 s)`);
  t.same(boundIndexes(pool), [1]);
  t.equal(pool.binds()[0]!.state, 'closed');
  await until(() => sim.accountStats('xinge').binds === 1, 10000, 'the simulator to see the close');
  t.equal(sim.recorder.requests.filter((r) => r.command === 'unbind').length, 0, 'no unbind reached the SMSC');
  sim.configure({ silent: false });
  await sleep(500); // five times reconnect.max_ms
  t.equal(sim.recorder.binds.length, 2, 'slot 0 never re-bound');
  t.same(pool.openSlots(), [1]);
  // Opened again: it binds again.
  pool.openSlot(0);
  await until(() => boundIndexes(pool).length === 2, 10000, 'slot 0 bound again');
});

t.test('soft close: in-flight submits answered on that bind, unbind sent, resolves once closed', async (t) => {
  const sim = await startSim({ respDelayMs: 300 });
  t.teardown(() => sim.stop());
  const pool = new BindPool(carrierFor(sim.port, { binds: 2 }), { leased: true });
  t.teardown(() => pool.stop(0));
  pool.start();
  pool.openSlot(0);
  await until(() => pool.isUp(), 10000, 'slot 0 bound');
  const outcome = pool.submit(segment());
  await until(() => sim.recorder.submits.length === 1, 10000, 'the submit at the SMSC');
  await pool.closeSlot(0, 'soft');
  t.equal(pool.binds()[0]!.state, 'closed', 'closed when the promise resolves');
  t.match(await outcome, { kind: 'accepted' }, 'the submit in flight was answered before the unbind');
  t.equal(sim.recorder.submits.length, 1, 'sent once');
  t.equal(sim.recorder.requests.filter((r) => r.command === 'unbind').length, 1, 'unbind sent');
  await until(() => sim.accountStats('xinge').binds === 0, 10000, 'the simulator to see no bind');
  await sleep(400);
  t.equal(sim.recorder.binds.length, 1, 'no reconnect');
  t.same(await pool.submit(segment()), { kind: 'disconnected' }, 'no slot open: disconnected');
});

t.test('hard close with a submit in flight: it goes out again on another bind', async (t) => {
  const sim = await startSim({ respDelayMs: 800 });
  t.teardown(() => sim.stop());
  const pool = new BindPool(carrierFor(sim.port, { binds: 2 }), { leased: true });
  t.teardown(() => pool.stop(0));
  pool.start();
  pool.openSlot(0);
  pool.openSlot(1);
  await until(() => boundIndexes(pool).length === 2, 10000, 'both bound');
  const outcome = pool.submit(segment());
  await until(() => sim.recorder.submits.length === 1, 10000, 'the submit at the SMSC');
  const busy = pool.binds().find((b) => b.inFlight > 0)!;
  await pool.closeSlot(busy.bindIndex, 'hard');
  const o = await outcome;
  t.match(o, { kind: 'accepted' }, 'accepted on the other bind');
  t.equal(sim.recorder.submits.length, 2, 'sent a second time');
  t.not(sim.recorder.submits[0]!.conn, sim.recorder.submits[1]!.conn, 'on another connection');
});

t.test('hard close with a submit in flight and no other bind: back to the caller as a drop', async (t) => {
  const sim = await startSim({ respDelayMs: 800 });
  t.teardown(() => sim.stop());
  const pool = new BindPool(carrierFor(sim.port, { binds: 2 }), { leased: true });
  t.teardown(() => pool.stop(0));
  pool.start();
  pool.openSlot(1);
  await until(() => pool.isUp(), 10000, 'slot 1 bound');
  const outcomes: Promise<SubmitOutcome>[] = [pool.submit(segment()), pool.submit(segment({ lane: 'otp' }))];
  await until(() => sim.recorder.submits.length === 2, 10000, 'both submits at the SMSC');
  await pool.closeSlot(1, 'hard');
  t.same(await Promise.all(outcomes), [
    { kind: 'disconnected', inFlight: true, countsAsAttempt: false },
    { kind: 'disconnected', inFlight: true, countsAsAttempt: false },
  ], 'in flight on a dropped bind, not charged (the dispatcher requeues them)');
  t.equal(pool.inFlight, 0);
});

t.test('transmitter+receiver: slot k is transmitter k and receiver binds+k, opened and closed together', async (t) => {
  const sim = await startSim();
  t.teardown(() => sim.stop());
  const pool = new BindPool(carrierFor(sim.port, { binds: 2, bind: 'transmitter+receiver' }), { leased: true });
  t.teardown(() => pool.stop(0));
  pool.start();
  pool.openSlot(1);
  await until(() => boundIndexes(pool).length === 2, 10000, 'transmitter 1 and receiver 3 bound');
  t.same(boundIndexes(pool).sort(), [1, 3]);
  t.same(sim.recorder.binds.map((b) => b.command).sort(), ['bind_receiver', 'bind_transmitter']);
  await pool.closeSlot(1, 'soft');
  t.same(boundIndexes(pool), []);
  t.equal(sim.recorder.requests.filter((r) => r.command === 'unbind').length, 2, 'both unbound');
});

t.test('misuse is refused: slots without leased mode, a slot out of range, leases chosen after start', async (t) => {
  const sim = await startSim();
  t.teardown(() => sim.stop());
  const plain = new BindPool(carrierFor(sim.port, { binds: 2 }));
  t.notOk(plain.leased);
  t.throws(() => plain.openSlot(0), RangeError);
  const leased = new BindPool(carrierFor(sim.port, { binds: 2 }));
  leased.useLeases();
  t.ok(leased.leased);
  t.throws(() => leased.openSlot(2), /no bind slot 2/);
  t.throws(() => leased.openSlot(-1), RangeError);
  await t.rejects(leased.closeSlot(5, 'hard'), RangeError);
  plain.start();
  t.teardown(() => plain.stop(0));
  t.throws(() => plain.useLeases(), /before start/);
  await until(() => plain.isUp(), 10000, 'the plain pool binds without leases');
  t.same(plain.openSlots(), [0, 1]);
});
