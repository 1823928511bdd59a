/** BindPool against the simulator over loopback: binds, reconnects, backoff, window, outcomes, PDUs on the wire. */
import t from 'tap';
import { BindPool } from '../../src/carriers/smpp/bind-pool.js';
import type { SmppMetrics } from '../../src/carriers/smpp/metrics.js';
import type { BindState, InboundDeliver } from '../../src/carriers/connector.js';
import { AdaptiveTokenBucket } from '../../src/scheduler/rate-limiter.js';
import { carrierFor, segment, startSim, until } from './helpers.js';

/** A metrics spy: every call recorded as [method, ...args]. */
function spy(): SmppMetrics & { calls: unknown[][]; count(m: string, arg?: unknown): number } {
  const calls: unknown[][] = [];
  const rec = (m: string) => (...a: unknown[]) => void calls.push([m, ...a]);
  return {
    calls,
    count: (m, arg) => calls.filter((c) => c[0] === m && (arg === undefined || c.includes(arg))).length,
    bindState: rec('bindState'),
    reconnect: rec('reconnect'),
    bindFailure: rec('bindFailure'),
    authFailure: rec('authFailure'),
    submitResp: rec('submitResp'),
    submitNoResp: rec('submitNoResp'),
    inFlight: rec('inFlight'),
    deliver: rec('deliver'),
    decodeError: rec('decodeError'),
  };
}

const allBound = (p: BindPool) => () => p.binds().every((b) => b.state === 'bound');

t.test('binds N transceivers; capacity is the free window; stop unbinds', async (t) => {
  const sim = await startSim();
  t.teardown(() => sim.stop());
  const m = spy();
  const pool = new BindPool(carrierFor(sim.port, { binds: 3, window: 7 }), { metrics: m });
  const events: BindState[] = [];
  pool.on('bind', (b) => events.push(b));
  t.notOk(pool.isUp());
  t.same(await pool.submit(segment()), { kind: 'disconnected' }, 'nothing bound yet: disconnected at once');
  pool.start();
  await until(allBound(pool));
  t.ok(pool.isUp());
  t.ok(pool.hasBound());
  t.equal(pool.capacity(), 21);
  t.equal(sim.recorder.binds.filter((b) => b.command === 'bind_transceiver' && b.status === 0).length, 3);
  t.equal(m.count('bindState', true), 3);
  t.same(events.filter((e) => e.state === 'bound').map((e) => e.bindIndex).sort(), [0, 1, 2]);
  t.same(events.filter((e) => e.bindIndex === 0).map((e) => e.state), ['connecting', 'binding', 'bound'], 'state changes as events');
  t.same(pool.binds()[0], { carrierId: 'simA', bindIndex: 0, state: 'bound', mode: 'transceiver', inFlight: 0, window: 7 });
  await pool.stop(1000);
  t.ok(pool.binds().every((b) => b.state === 'closed'));
  t.equal(sim.recorder.requests.filter((r) => r.command === 'unbind').length, 3, 'each session sent unbind');
  t.same(await pool.submit(segment()), { kind: 'disconnected' }, 'stopped: disconnected');
});

t.test('transmitter+receiver: N of each, submits only on transmitters', async (t) => {
  const sim = await startSim();
  t.teardown(() => sim.stop());
  const pool = new BindPool(carrierFor(sim.port, { binds: 2, bind: 'transmitter+receiver', window: 4 }));
  t.teardown(() => pool.stop(0));
  pool.start();
  await until(allBound(pool));
  const modes = pool.binds().map((b) => b.mode);
  t.same(modes, ['transmitter', 'transmitter', 'receiver', 'receiver']);
  t.equal(pool.capacity(), 8, 'receivers add no window');
  const cmds = sim.recorder.binds.map((b) => b.command).sort();
  t.same(cmds, ['bind_receiver', 'bind_receiver', 'bind_transmitter', 'bind_transmitter']);
  await Promise.all(Array.from({ length: 20 }, () => pool.submit(segment())));
  const txConns = new Set(sim.connections().filter((c) => c.bindMode === 'transmitter').map((c) => c.index));
  t.ok(sim.recorder.submits.every((s) => txConns.has(s.conn)));
  t.equal(sim.recorder.submits.length, 20);
});

t.test('submit_sm built from the segment: addresses, ton/npi, esm_class, data_coding, bytes, TLVs', async (t) => {
  const sim = await startSim();
  t.teardown(() => sim.stop());
  for (const [format, expected] of [['e164', '+8613800138000'], ['international', '8613800138000'], ['national', '13800138000']] as const) {
    const pool = new BindPool(carrierFor(sim.port, { dest: { ton: 2, npi: 1, format }, source: { addr: '1069000012', ton: 3, npi: 9 } }));
    pool.start();
    await until(allBound(pool));
    sim.recorder.clear();
    // 159 octets: a 6-octet UDH + 153 unpacked GSM septets (SPEC 6), beyond node-smpp's text limits
    const sm = Buffer.concat([Buffer.from([5, 0, 3, 0x2a, 2, 1]), Buffer.alloc(153, 0x41)]);
    const o = await pool.submit(segment({ part: { shortMessage: sm, esmClass: 0x40, dataCoding: 0 } }));
    t.equal(o.kind, 'accepted', `${format}: 159-octet short_message accepted`);
    const ucs = Buffer.from('您的验证码', 'utf16le').swap16();
    await pool.submit(segment({ from: '106900001234', registeredDelivery: false, part: { shortMessage: ucs, esmClass: 0, dataCoding: 8, sar: { msgRefNum: 513, totalSegments: 3, segmentSeqnum: 2 } } }));
    await pool.submit(segment({ part: { shortMessage: Buffer.alloc(0), esmClass: 0, dataCoding: 8, messagePayload: Buffer.alloc(400, 7) } }));
    const [a, b, c] = sim.recorder.submits;
    t.equal(a!.destination, expected, `${format} destination`);
    t.same([a!.destTon, a!.destNpi, a!.source, a!.sourceTon, a!.sourceNpi], [2, 1, '1069000012', 3, 9]);
    t.equal(a!.shortMessage.length, 159);
    t.ok(a!.shortMessage.equals(sm), 'bytes as given');
    t.same([a!.esmClass, a!.dataCoding, a!.registeredDelivery], [0x40, 0, 1]);
    t.equal(b!.source, '106900001234', 'seg.from overrides the source (client extension)');
    t.same([b!.dataCoding, b!.registeredDelivery], [8, 0]);
    t.ok(b!.shortMessage.equals(ucs));
    t.same([b!.tlvs['sar_msg_ref_num'], b!.tlvs['sar_total_segments'], b!.tlvs['sar_segment_seqnum']], [513, 3, 2]);
    t.equal(c!.shortMessage.length, 0);
    t.equal((c!.tlvs['message_payload'] as Buffer).length, 400);
    await pool.stop(0);
  }
});

t.test('a short_message over 254 octets is refused before the wire', async (t) => {
  const sim = await startSim();
  t.teardown(() => sim.stop());
  const pool = new BindPool(carrierFor(sim.port));
  t.teardown(() => pool.stop(0));
  pool.start();
  await until(allBound(pool));
  const o = await pool.submit(segment({ part: { shortMessage: Buffer.alloc(255), esmClass: 0, dataCoding: 4 } }));
  t.same(o, { kind: 'rejected', commandStatus: 1, statusName: 'ESME_RINVMSGLEN' });
  t.equal(sim.recorder.totalSubmits, 0);
});

t.test('rejected resps carry command_status and its name', async (t) => {
  const sim = await startSim({ errorByDest: { '8613900000000': 0x0b }, throttleEvery: 2 });
  t.teardown(() => sim.stop());
  const m = spy();
  const pool = new BindPool(carrierFor(sim.port), { metrics: m });
  t.teardown(() => pool.stop(0));
  pool.start();
  await until(allBound(pool));
  t.same(await pool.submit(segment({ to: '8613900000000' })), { kind: 'rejected', commandStatus: 0x0b, statusName: 'ESME_RINVDSTADR' });
  // the SMSC counts every submit_sm: the 2nd is throttled, the 3rd accepted
  const a = await pool.submit(segment());
  const b = await pool.submit(segment());
  t.same(a, { kind: 'rejected', commandStatus: 0x58, statusName: 'ESME_RTHROTTLED' });
  t.equal(b.kind, 'accepted');
  t.equal(m.count('submitResp', 'ESME_RTHROTTLED'), 1);
  t.equal(m.count('submitResp', 'ESME_ROK'), 1);
  t.equal(m.count('submitResp', 'ESME_RINVDSTADR'), 1);
});

t.test('reconnects after the SMSC drops the connection (backoff, metrics)', async (t) => {
  const sim = await startSim();
  t.teardown(() => sim.stop());
  const m = spy();
  const pool = new BindPool(carrierFor(sim.port, { binds: 2 }), { metrics: m });
  t.teardown(() => pool.stop(0));
  const states: string[] = [];
  pool.on('bind', (b) => states.push(`${b.bindIndex}:${b.state}`));
  pool.start();
  await until(allBound(pool));
  const first = sim.connections().map((c) => c.index);
  sim.drop(first[0]);
  await until(() => sim.recorder.binds.length === 3, 3000, 'rebind');
  await until(allBound(pool));
  t.ok(states.includes('0:backoff') || states.includes('1:backoff'), 'went through backoff');
  t.equal(m.count('reconnect'), 1);
  t.equal(m.count('bindState', false), 1);
  t.equal(sim.connections().length, 2);
  t.ok(sim.connections().some((c) => c.index === first[1]), 'the other bind was untouched');
  t.equal((await pool.submit(segment())).kind, 'accepted');
});

t.test('reconnect backoff grows exponentially with full jitter, capped at max_ms', async (t) => {
  const sim = await startSim();
  const port = sim.port;
  await sim.stop(); // nothing listens: every connect fails
  const m = spy();
  const pool = new BindPool(carrierFor(port, { reconnect: { initial_ms: 40, max_ms: 160, auth_failure_ms: 60000 } }), { metrics: m, random: () => 0.999 });
  const times: number[] = [];
  pool.on('bind', (b) => b.state === 'connecting' && times.push(Date.now()));
  pool.start();
  await until(() => times.length >= 5, 3000);
  await pool.stop(0);
  const gaps = times.slice(1).map((x, i) => x - times[i]!);
  // random ≈ 1 → delays ≈ 40, 80, 160, 160 (cap). Timers never fire early but a loaded machine
  // fires them late, so the lower bounds are tight and the upper ones only rule out the next
  // doubling: an uncapped fourth delay would be at least 319 ms.
  t.ok(gaps[0]! >= 35 && gaps[0]! < 75 + 150, `first ${gaps[0]}`);
  t.ok(gaps[1]! >= 75 && gaps[1]! < 150 + 150, `second ${gaps[1]}`);
  t.ok(gaps[2]! >= 150 && gaps[3]! >= 150 && gaps[3]! < 315, `capped ${gaps[2]}, ${gaps[3]}`);
  t.ok(m.count('bindFailure', 'connect_failed') >= 4, 'connect failures counted');
});

t.test('authentication failure backs off to auth_failure_ms (no second attempt before)', async (t) => {
  const sim = await startSim();
  t.teardown(() => sim.stop());
  const m = spy();
  const pool = new BindPool(carrierFor(sim.port, { password: 'wrong', reconnect: { initial_ms: 5, max_ms: 10, auth_failure_ms: 600 } }), { metrics: m, random: () => 0 });
  t.teardown(() => pool.stop(0));
  pool.start();
  await until(() => sim.recorder.binds.length === 1);
  const t0 = sim.recorder.binds[0]!.time;
  t.equal(sim.recorder.binds[0]!.status, 0x0e);
  await new Promise((r) => setTimeout(r, 450));
  t.equal(sim.recorder.binds.length, 1, 'no second attempt while backing off');
  t.equal(pool.binds()[0]!.state, 'backoff');
  await until(() => sim.recorder.binds.length === 2, 2000, 'second attempt');
  const gap = sim.recorder.binds[1]!.time - t0;
  t.ok(gap >= 595, `second attempt after ${gap} ms`);
  // The simulator records the bind when it reads it; its refusal reaches the pool a moment later.
  await until(() => m.count('authFailure') === 2, 2000, 'second refusal handled');
  t.equal(m.count('authFailure'), 2);
  t.equal(m.count('bindFailure', 'ESME_RINVPASWD'), 2);
  t.notOk(pool.hasBound());
  // an unknown system_id is an auth failure too
  sim.configure({ accounts: [{ systemId: 'other', password: 'wrong' }] });
  await until(() => sim.recorder.binds.length === 3, 2000);
  t.equal(sim.recorder.binds[2]!.status, 0x0f);
  await until(() => m.count('bindFailure', 'ESME_RINVSYSID') === 1);
});

t.test('enquire_link timeout: the sim goes silent, the bind is dropped and rebuilt', async (t) => {
  const sim = await startSim();
  t.teardown(() => sim.stop());
  const pool = new BindPool(carrierFor(sim.port, { enquire_link_s: 0.08, response_timeout_s: 0.15 }));
  t.teardown(() => pool.stop(0));
  const states: string[] = [];
  pool.on('bind', (b) => states.push(b.state));
  pool.start();
  await until(allBound(pool));
  sim.configure({ silent: true });
  await until(() => states.includes('backoff'), 2000, 'drop');
  t.notOk(pool.isUp());
  t.ok(sim.recorder.requests.some((r) => r.command === 'enquire_link'), 'enquire_link was sent and went unanswered');
  sim.configure({ silent: false });
  await until(allBound(pool), 3000, 'rebuilt');
  t.equal((await pool.submit(segment())).kind, 'accepted');
});

t.test('SMSC unbind: answered, the bind is rebuilt', async (t) => {
  const sim = await startSim();
  t.teardown(() => sim.stop());
  const pool = new BindPool(carrierFor(sim.port));
  t.teardown(() => pool.stop(0));
  pool.start();
  await until(allBound(pool));
  const seq = sim.sendUnbind();
  await until(() => sim.recorder.responses.some((r) => r.command === 'unbind_resp' && r.seq === seq));
  await until(() => sim.recorder.binds.length === 2 && pool.isUp(), 3000, 'rebind');
  t.equal(sim.recorder.binds.length, 2, 'bound twice');
  t.ok(pool.isUp(), 'rebound after unbind');
});

t.test('undecodable PDU: error resp, bind stays up; absurd length: that bind alone is rebuilt', async (t) => {
  const sim = await startSim();
  t.teardown(() => sim.stop());
  const m = spy();
  const pool = new BindPool(carrierFor(sim.port, { binds: 2 }), { metrics: m });
  t.teardown(() => pool.stop(0));
  pool.on('deliver', (d) => d.ack());
  pool.start();
  await until(allBound(pool));
  const [c0, c1] = sim.connections().map((c) => c.index);
  const seq = sim.injectMalformed('bad-body', c0);
  await until(() => sim.recorder.responses.some((r) => r.seq === seq && r.conn === c0));
  t.equal(sim.recorder.responses.find((r) => r.seq === seq)!.status, 0x01, 'deliver_sm_resp ESME_RINVMSGLEN');
  t.equal(m.count('decodeError'), 1);
  const u = sim.injectMalformed('unknown-command', c0);
  await until(() => sim.recorder.responses.some((r) => r.seq === u));
  t.equal(sim.recorder.responses.find((r) => r.seq === u)!.command, 'generic_nack');
  t.equal(sim.recorder.binds.length, 2, 'no rebind for recoverable errors');
  sim.injectMalformed('absurd-length', c1);
  await until(() => sim.recorder.binds.length === 3, 3000, 'rebind of the framing-error bind');
  await until(allBound(pool));
  const open = sim.connections().map((c) => c.index);
  t.ok(open.includes(c0!), 'the healthy bind kept its connection');
  t.notOk(open.includes(c1!), 'the broken one was closed');
});

t.test('WINDOW: never more than `window` outstanding per bind, and exactly that under backlog', async (t) => {
  const sim = await startSim({ respDelayMs: 25 });
  t.teardown(() => sim.stop());
  const window = 5;
  const binds = 3;
  const pool = new BindPool(carrierFor(sim.port, { binds, window }));
  t.teardown(() => pool.stop(0));
  pool.start();
  await until(allBound(pool));
  const n = window * binds * 8;
  const all = Promise.all(Array.from({ length: n }, () => pool.submit(segment())));
  t.equal(pool.capacity(), 0, 'backlog: no capacity');
  t.equal(pool.inFlight, window * binds);
  t.equal(pool.queued, n - window * binds);
  const outs = await all;
  t.equal(outs.filter((o) => o.kind === 'accepted').length, n);
  const stats = sim.recorder.allStats();
  t.equal(stats.size, binds, 'every bind carried traffic');
  for (const [conn, s] of stats) t.equal(s.maxOutstanding, window, `conn ${conn}: highest outstanding = window (${s.submits} submits)`);
  t.equal(pool.capacity(), window * binds);
});

t.test('a dropped bind fails its in-flight submits `disconnected` at once; queued ones too when nothing is up', async (t) => {
  const sim = await startSim({ respDelayMs: 10000 });
  t.teardown(() => sim.stop());
  const pool = new BindPool(carrierFor(sim.port, { window: 3, response_timeout_s: 20, reconnect: { initial_ms: 2000, max_ms: 2000 } }));
  t.teardown(() => pool.stop(0));
  pool.start();
  await until(allBound(pool));
  const all = Promise.all(Array.from({ length: 5 }, () => pool.submit(segment())));
  await until(() => sim.recorder.totalSubmits === 3);
  t.equal(pool.queued, 2);
  const t0 = Date.now();
  sim.drop();
  const outs = await all;
  t.ok(Date.now() - t0 < 500, `resolved in ${Date.now() - t0} ms`);
  // In flight: marked so (the caller charges an attempt only from the second drop); queued: plain.
  t.same(outs, [...Array(3).fill({ kind: 'disconnected', inFlight: true, countsAsAttempt: false }), ...Array(2).fill({ kind: 'disconnected' })]);
  t.equal(pool.inFlight, 0);
  t.equal(pool.queued, 0);
});

t.test('per-request timeout through the pool', async (t) => {
  const sim = await startSim({ respDelayMs: 2000 });
  t.teardown(() => sim.stop());
  const m = spy();
  const pool = new BindPool(carrierFor(sim.port, { response_timeout_s: 0.2 }), { metrics: m });
  t.teardown(() => pool.stop(0));
  pool.start();
  await until(allBound(pool));
  const t0 = Date.now();
  t.same(await pool.submit(segment()), { kind: 'timeout' });
  t.ok(Date.now() - t0 < 1500);
  t.equal(m.count('submitNoResp', 'timeout'), 1);
});

t.test('OTP goes ahead of a waiting bulk backlog', async (t) => {
  const sim = await startSim({ respDelayMs: 20 });
  t.teardown(() => sim.stop());
  const pool = new BindPool(carrierFor(sim.port, { window: 1 }));
  t.teardown(() => pool.stop(0));
  pool.start();
  await until(allBound(pool));
  const bulk = Array.from({ length: 6 }, (_, i) => pool.submit(segment({ to: `861380000000${i}` })));
  const otp = pool.submit(segment({ to: '8613999999999', lane: 'otp' }));
  await Promise.all([...bulk, otp]);
  const order = sim.recorder.submits.map((s) => s.destination);
  t.equal(order[0], '8613800000000', 'the one already in flight');
  t.equal(order[1], '8613999999999', 'OTP next, before the other 5 bulk');
});

t.test('stop(grace) waits for in-flight resps, then unbinds', async (t) => {
  const sim = await startSim({ respDelayMs: 150 });
  t.teardown(() => sim.stop());
  const pool = new BindPool(carrierFor(sim.port));
  pool.start();
  await until(allBound(pool));
  const p = pool.submit(segment());
  await until(() => sim.recorder.totalSubmits === 1);
  await pool.stop(2000);
  t.equal((await p).kind, 'accepted', 'in-flight resp arrived before unbind');
  t.equal(sim.recorder.requests.filter((r) => r.command === 'unbind').length, 1);
});

t.test('receipts and MO become deliver events; ack sends deliver_sm_resp', async (t) => {
  const sim = await startSim({ receipts: { delayMs: 10, segments: 'all' }, idFormat: 'hex', idStart: 2n ** 60n });
  t.teardown(() => sim.stop());
  const m = spy();
  const pool = new BindPool(carrierFor(sim.port), { metrics: m });
  t.teardown(() => pool.stop(0));
  const got: InboundDeliver[] = [];
  pool.on('deliver', (d) => {
    got.push(d);
    d.ack();
  });
  pool.start();
  await until(allBound(pool));
  const o = await pool.submit(segment());
  t.same(o, { kind: 'accepted', carrierMessageId: '1000000000000000' });
  await until(() => got.length === 1);
  const r = got[0]!;
  t.equal(r.isReceipt, true);
  t.equal(r.esmClass, 0x04);
  t.equal(r.tlvs.receiptedMessageId, '1000000000000000');
  t.equal(r.tlvs.messageState, 2);
  t.match(r.shortMessage.toString('latin1'), /^id:1000000000000000 sub:001 dlvrd:001 submit date:\d{10} done date:\d{10} stat:DELIVRD err:000 text:hello$/);
  t.equal(r.sourceAddr, '8613800138000');
  t.equal(r.carrierId, 'simA');
  sim.injectMo({ from: '8613800138000', to: '10690001', text: '退订' });
  await until(() => got.length === 2);
  const mo = got[1]!;
  t.equal(mo.isReceipt, false);
  t.equal(mo.dataCoding, 8);
  t.equal(Buffer.from(mo.shortMessage).swap16().toString('utf16le'), '退订');
  await until(() => sim.recorder.responses.filter((x) => x.command === 'deliver_sm_resp' && x.status === 0).length === 2);
  t.equal(m.count('deliver', 'receipt'), 1);
  t.equal(m.count('deliver', 'mo'), 1);
});

t.test('a deliver_sm nobody listens for is answered ESME_RX_T_APPN (the SMSC retries)', async (t) => {
  const sim = await startSim();
  t.teardown(() => sim.stop());
  const pool = new BindPool(carrierFor(sim.port));
  t.teardown(() => pool.stop(0));
  pool.start();
  await until(allBound(pool));
  const [seq] = sim.injectMo({ from: '8613800138000', to: '1069', text: 'hi' });
  await until(() => sim.recorder.responses.some((r) => r.seq === seq));
  t.equal(sim.recorder.responses.find((r) => r.seq === seq)!.status, 0x64);
});

t.test('with a limiter: ESME_RTHROTTLED halves the account rate', async (t) => {
  const sim = await startSim({ throttleEvery: 1 });
  t.teardown(() => sim.stop());
  const limiter = new AdaptiveTokenBucket({ tps: 200, now: () => Date.now() });
  const pool = new BindPool(carrierFor(sim.port), { limiter });
  t.teardown(() => pool.stop(0));
  pool.start();
  await until(allBound(pool));
  const o = await pool.submit(segment());
  t.equal(o.kind, 'rejected');
  t.ok(limiter.rate <= 101, `rate ${limiter.rate}`);
});
