/** SmppSession against the simulator over loopback: the protocol duties of one bind. */
import t from 'tap';
import type net from 'node:net';
import { SmppSession, type SessionOptions } from '../../src/carriers/smpp/session.js';
import { Status } from '../../src/carriers/smpp/command-status.js';
import { startSim, until } from './helpers.js';
import { stallEventLoop } from '../helpers/fixtures.js';

function opts(port: number, over: Partial<SessionOptions> = {}): SessionOptions {
  return {
    host: '127.0.0.1',
    port,
    mode: 'transceiver',
    systemId: 'xinge',
    password: 'secret',
    window: 10,
    responseTimeoutMs: 2000,
    enquireLinkMs: 30000,
    ...over,
  };
}

const fields = (sm = Buffer.from('hi')) => ({
  sourceAddrTon: 0, sourceAddrNpi: 1, sourceAddr: '1069', destAddrTon: 1, destAddrNpi: 1,
  destinationAddr: '8613800138000', esmClass: 0, registeredDelivery: 0, dataCoding: 0, shortMessage: sm,
});

/** Node keeps the TCP_NODELAY state it set on the handle under a private symbol. */
function noDelayOf(sock: net.Socket): boolean | undefined {
  const sym = Object.getOwnPropertySymbols(sock).find((s) => s.description === 'kSetNoDelay');
  return sym ? (sock as unknown as Record<symbol, boolean>)[sym] : undefined;
}

t.test('binds, sets TCP_NODELAY, submits, unbinds', async (t) => {
  const sim = await startSim();
  t.teardown(() => sim.stop());
  const s = new SmppSession(opts(sim.port));
  await s.connect();
  t.equal(s.state, 'bound');
  t.equal(s.peerSystemId, 'XINGESIM');
  t.equal(noDelayOf(s.socket!), true, 'TCP_NODELAY on the SMPP socket');
  t.equal(sim.recorder.binds[0]!.command, 'bind_transceiver');
  const o = await s.submit(fields());
  t.same(o, { kind: 'accepted', carrierMessageId: '1' });
  await s.unbind();
  t.equal(s.state, 'closed');
  t.equal((await s.closed).reason, 'unbound');
});

t.test('bad credentials reject with BindError carrying the status name', async (t) => {
  const sim = await startSim();
  t.teardown(() => sim.stop());
  const s = new SmppSession(opts(sim.port, { password: 'wrong' }));
  await t.rejects(s.connect(), { code: 'smpp_bind_failed', statusName: 'ESME_RINVPASWD', commandStatus: 0x0e });
  t.equal((await s.closed).reason, 'bind_failed');
  const s2 = new SmppSession(opts(sim.port, { systemId: 'nobody' }));
  await t.rejects(s2.connect(), { code: 'smpp_bind_failed', statusName: 'ESME_RINVSYSID' });
});

t.test('connection refused rejects with smpp_connect_failed', async (t) => {
  const sim = await startSim();
  const port = sim.port;
  await sim.stop();
  const s = new SmppSession(opts(port));
  await t.rejects(s.connect(), { code: 'smpp_connect_failed' });
});

t.test('per-request timeout: a submit without resp ends `timeout` and frees its slot', async (t) => {
  const sim = await startSim();
  t.teardown(() => sim.stop());
  const s = new SmppSession(opts(sim.port, { responseTimeoutMs: 150, window: 1 }));
  t.teardown(() => s.close());
  await s.connect();
  sim.configure({ silent: true });
  const t0 = Date.now();
  const o = await s.submit(fields());
  const took = Date.now() - t0;
  t.same(o, { kind: 'timeout' });
  t.ok(took >= 140 && took < 1000, `timed out after ${took} ms`);
  t.equal(s.inFlight, 0);
  t.ok(s.canSubmit(), 'the slot is free again');
  t.equal(s.state, 'bound', 'a submit timeout alone does not drop the bind');
});

t.test('a submit past its deadline closes the window at once, before its timer has run', async (t) => {
  // A busy event loop runs timers late; what the window allows must not wait for them, or a
  // silent bind takes more segments between the deadline and the timer (seen under load).
  const sim = await startSim();
  t.teardown(() => sim.stop());
  let now = 1_000;
  const s = new SmppSession(opts(sim.port, { responseTimeoutMs: 60_000, window: 5, clock: () => now }));
  t.teardown(() => s.close());
  await s.connect();
  sim.configure({ silent: true });
  const first = s.submit(fields());
  t.equal(s.freeWindow, 4, 'four slots left while the first is within its deadline');
  t.ok(s.canSubmit());
  now += 60_000;
  t.equal(s.freeWindow, 0, 'its deadline passed: no slot, though its timer is a minute away');
  t.notOk(s.canSubmit(), 'nothing more goes on this bind');
  t.equal(s.consecutiveTimeouts, 0, 'the timeout itself is still the timer\'s to report');
  s.close();
  t.same(await first, { kind: 'disconnected' }, 'closing settles it');
});

t.test('a stall past the response timeout: an answer waiting in the socket is read before the timeout is declared', async (t) => {
  const sim = await startSim();
  t.teardown(() => sim.stop());
  const s = new SmppSession(opts(sim.port, { responseTimeoutMs: 150, window: 2 }));
  t.teardown(() => s.close());
  await s.connect();
  // The simulator runs in this process: stalling in its submit hook delays its answer until
  // the stall ends, so the resp is in the daemon's socket when its (late) timer runs.
  sim.recorder.once('submit', () => stallEventLoop(400));
  const o = await s.submit(fields());
  t.same(o, { kind: 'accepted', carrierMessageId: '1' }, 'accepted, not a timeout');
  t.equal(s.consecutiveTimeouts, 0, 'the bind is not suspect');
  t.equal(s.inFlight, 0);
});

t.test('a stall past the response timeout: a request nobody answers still times out, one stall later', async (t) => {
  const sim = await startSim();
  t.teardown(() => sim.stop());
  const s = new SmppSession(opts(sim.port, { responseTimeoutMs: 150, window: 2 }));
  t.teardown(() => s.close());
  await s.connect();
  sim.configure({ silent: true });
  const t0 = Date.now();
  const submitted = s.submit(fields());
  setTimeout(() => stallEventLoop(400), 10);
  t.same(await submitted, { kind: 'timeout' });
  const took = Date.now() - t0;
  t.ok(took >= 400 && took < 410 + 400 + 500, `timed out after ${took} ms (deadline 150, stall 400)`);
  t.equal(s.consecutiveTimeouts, 1);
  t.equal(s.state, 'bound');
});

t.test('enquire_link on idle; unanswered enquire_link drops the bind', async (t) => {
  const sim = await startSim();
  t.teardown(() => sim.stop());
  const s = new SmppSession(opts(sim.port, { enquireLinkMs: 60, responseTimeoutMs: 100 }));
  await s.connect();
  await new Promise((r) => setTimeout(r, 250));
  t.equal(s.state, 'bound', 'answered enquire_links keep it up');
  t.ok(sim.recorder.requests.filter((r) => r.command === 'enquire_link').length >= 2, 'enquire_link sent while idle');
  sim.configure({ silent: true });
  const info = await s.closed;
  t.equal(info.reason, 'enquire_link_timeout');
  t.equal(info.error?.['code' as keyof Error], 'smpp_enquire_link_timeout');
});

t.test('the SMSC\'s enquire_link is answered; its unbind is answered and the session closes', async (t) => {
  const sim = await startSim();
  t.teardown(() => sim.stop());
  const s = new SmppSession(opts(sim.port));
  await s.connect();
  const seq = sim.sendEnquireLink();
  await until(() => sim.recorder.responses.some((r) => r.command === 'enquire_link_resp' && r.seq === seq));
  t.ok(sim.recorder.responses.some((r) => r.command === 'enquire_link_resp' && r.seq === seq), 'enquire_link_resp with the same sequence number');
  const useq = sim.sendUnbind();
  const info = await s.closed;
  t.equal(info.reason, 'peer_unbind');
  t.ok(sim.recorder.responses.some((r) => r.command === 'unbind_resp' && r.seq === useq && r.status === 0));
});

t.test('unknown command → generic_nack ESME_RINVCMDID; bad body → error resp; bind stays up', async (t) => {
  const sim = await startSim();
  t.teardown(() => sim.stop());
  const s = new SmppSession(opts(sim.port));
  t.teardown(() => s.close());
  let decodeErrors = 0;
  s.on('decodeError', () => decodeErrors++);
  s.on('deliver', (_p, ack) => ack());
  await s.connect();
  const u = sim.injectMalformed('unknown-command');
  await until(() => sim.recorder.responses.some((r) => r.seq === u));
  const nack = sim.recorder.responses.find((r) => r.seq === u)!;
  t.equal(nack.command, 'generic_nack');
  t.equal(nack.status, Status.ESME_RINVCMDID);
  const b = sim.injectMalformed('bad-body');
  await until(() => sim.recorder.responses.some((r) => r.seq === b));
  const resp = sim.recorder.responses.find((r) => r.seq === b)!;
  t.equal(resp.command, 'deliver_sm_resp');
  t.equal(resp.status, Status.ESME_RINVMSGLEN);
  t.equal(decodeErrors, 1);
  t.equal(s.state, 'bound');
  t.same(await s.submit(fields()), { kind: 'accepted', carrierMessageId: '1' }, 'still works');
});

t.test('absurd command_length is a framing error: the session closes', async (t) => {
  const sim = await startSim();
  t.teardown(() => sim.stop());
  for (const kind of ['absurd-length', 'short-length'] as const) {
    const s = new SmppSession(opts(sim.port));
    await s.connect();
    sim.injectMalformed(kind, sim.connections().at(-1)!.index);
    const info = await s.closed;
    t.equal(info.reason, 'framing_error', kind);
  }
});

t.test('socket close fails every request in flight at once with `disconnected`', async (t) => {
  const sim = await startSim({ respDelayMs: 10000 });
  t.teardown(() => sim.stop());
  const s = new SmppSession(opts(sim.port, { window: 5, responseTimeoutMs: 10000 }));
  await s.connect();
  const all = Promise.all(Array.from({ length: 5 }, () => s.submit(fields())));
  await until(() => sim.recorder.stats(0).outstanding === 5);
  t.notOk(s.canSubmit(), 'window full');
  await t.rejects(s.submit(fields()), { code: 'smpp_window_full' }, 'submit past the window is a caller error');
  const t0 = Date.now();
  sim.drop();
  const outs = await all;
  t.ok(Date.now() - t0 < 500, 'at once, not after the response timeout');
  t.same(outs, Array(5).fill({ kind: 'disconnected' }));
  t.equal(s.inFlight, 0);
  t.same(await s.submit(fields()), { kind: 'disconnected' }, 'a closed session answers disconnected');
});

t.test('writes are coalesced: a burst of submits goes out in few writes', async (t) => {
  const sim = await startSim();
  t.teardown(() => sim.stop());
  const s = new SmppSession(opts(sim.port, { window: 100 }));
  t.teardown(() => s.close());
  await s.connect();
  const before = s.writeCount;
  const outs = await Promise.all(Array.from({ length: 100 }, () => s.submit(fields())));
  t.equal(s.writeCount - before, 1, '100 submit_sm in one socket.write');
  t.equal(outs.filter((o) => o.kind === 'accepted').length, 100);
  t.equal(sim.recorder.stats(0).submits, 100);
});
