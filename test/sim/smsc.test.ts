/** The SMSC simulator, driven by a real SmppSession (and raw sockets) over loopback. */
import t from 'tap';
import net from 'node:net';
import { SmppSession, type SessionOptions } from '../../src/carriers/smpp/session.js';
import { decodePdu, encodeHeader, encodeSubmitSm, fieldBuf, fieldNum, fieldStr, type Pdu } from '../../src/carriers/smpp/codec.js';
import { PduFramer } from '../../src/carriers/smpp/framing.js';
import { SmscSimulator, type SmscSimInput } from '../../src/sim/smsc.js';
import { parseSimOptions, runSim } from '../../src/sim/run-sim.js';
import { isLastSegment, pickOutcome, receiptText } from '../../src/sim/receipts.js';

type Teardown = { teardown(fn: () => unknown): void };

async function sim(t: Teardown, o: SmscSimInput = {}): Promise<SmscSimulator> {
  const s = new SmscSimulator(o);
  await s.start();
  t.teardown(() => s.stop());
  return s;
}

async function session(t: Teardown, port: number, over: Partial<SessionOptions> = {}): Promise<{ s: SmppSession; got: Pdu[] }> {
  const s = new SmppSession({
    host: '127.0.0.1', port, mode: 'transceiver', systemId: 'xinge', password: 'secret',
    window: 50, responseTimeoutMs: 2000, enquireLinkMs: 30000, ...over,
  });
  const got: Pdu[] = [];
  s.on('deliver', (p, ack) => {
    got.push({ ...p, fields: { ...p.fields, short_message: Buffer.from(fieldBuf(p, 'short_message')) } });
    ack();
  });
  await s.connect();
  t.teardown(() => s.close());
  return { s, got };
}

const sub = (over: Partial<Parameters<typeof encodeSubmitSm>[1]> = {}) => ({
  sourceAddrTon: 0, sourceAddrNpi: 1, sourceAddr: '10690001', destAddrTon: 1, destAddrNpi: 1,
  destinationAddr: '8613800138000', esmClass: 0, registeredDelivery: 1, dataCoding: 0, shortMessage: Buffer.from('your code is 123456'),
  ...over,
});

const until = async (cond: () => boolean, ms = 3000) => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timeout');
    await new Promise((r) => setTimeout(r, 5));
  }
};

t.test('accounts: good bind, bad password, unknown system_id; binds recorded', async (t) => {
  const smsc = await sim(t, { accounts: [{ systemId: 'xinge', password: 'secret' }, { systemId: 'b', password: 'pw' }] });
  await session(t, smsc.port);
  await session(t, smsc.port, { systemId: 'b', password: 'pw', mode: 'transmitter' });
  const bad = new SmppSession({ host: '127.0.0.1', port: smsc.port, mode: 'transceiver', systemId: 'xinge', password: 'nope', window: 1, responseTimeoutMs: 1000, enquireLinkMs: 10000 });
  await t.rejects(bad.connect(), { code: 'smpp_bind_failed', statusName: 'ESME_RINVPASWD' });
  const unk = new SmppSession({ host: '127.0.0.1', port: smsc.port, mode: 'receiver', systemId: 'zz', password: 'x', window: 1, responseTimeoutMs: 1000, enquireLinkMs: 10000 });
  await t.rejects(unk.connect(), { code: 'smpp_bind_failed', statusName: 'ESME_RINVSYSID' });
  t.same(smsc.recorder.binds.map((b) => [b.command, b.systemId, b.status]), [
    ['bind_transceiver', 'xinge', 0],
    ['bind_transmitter', 'b', 0],
    ['bind_transceiver', 'xinge', 0x0e],
    ['bind_receiver', 'zz', 0x0f],
  ]);
});

t.test('records every submit_sm: fields, raw bytes, TLVs, message_id, per-connection counts', async (t) => {
  const smsc = await sim(t, { receipts: { segments: 'none' } });
  const { s } = await session(t, smsc.port);
  const sm = Buffer.concat([Buffer.from([5, 0, 3, 9, 2, 1]), Buffer.alloc(153, 0x30)]);
  await s.submit(sub({ esmClass: 0x40, shortMessage: sm, sarMsgRefNum: 9, sarTotalSegments: 2, sarSegmentSeqnum: 1 }));
  await s.submit(sub({ dataCoding: 8, shortMessage: Buffer.from('验证码', 'utf16le').swap16() }));
  const [a, b] = smsc.recorder.submits;
  t.equal(a!.shortMessage.length, 159);
  t.ok(a!.shortMessage.equals(sm));
  t.same([a!.esmClass, a!.dataCoding, a!.registeredDelivery, a!.destination, a!.source], [0x40, 0, 1, '8613800138000', '10690001']);
  t.same([a!.tlvs['sar_msg_ref_num'], a!.tlvs['sar_total_segments'], a!.tlvs['sar_segment_seqnum']], [9, 2, 1]);
  t.equal(a!.messageId, '1');
  t.equal(b!.messageId, '2');
  t.equal(Buffer.from(b!.shortMessage).swap16().toString('utf16le'), '验证码', 'tests can read the text back');
  t.same(smsc.recorder.stats(a!.conn), { submits: 2, outstanding: 0, maxOutstanding: 1 });
  t.equal(smsc.connections().length, 1);
});

t.test('message ids: decimal, hex, HEX, from 2^60', async (t) => {
  for (const [idFormat, want] of [['decimal', '1152921504606846976'], ['hex', '1000000000000000'], ['hex-upper', '1000000000000000']] as const) {
    const smsc = await sim(t, { idFormat, idStart: 2n ** 60n, receipts: { segments: 'none' } });
    const { s } = await session(t, smsc.port);
    t.same(await s.submit(sub()), { kind: 'accepted', carrierMessageId: want }, idFormat);
  }
  const smsc = await sim(t, { idFormat: 'hex-upper', idStart: 0xabcn, receipts: { segments: 'none' } });
  const { s } = await session(t, smsc.port);
  t.same(await s.submit(sub()), { kind: 'accepted', carrierMessageId: 'ABC' });
});

t.test('receipts: text, TLVs, delay; id mismatch (hex resp, decimal receipt and the reverse)', async (t) => {
  for (const [idFormat, receiptIdFormat, respId, dlrId] of [
    ['hex', 'decimal', 'ff', '255'],
    ['decimal', 'hex', '255', 'ff'],
    ['decimal', null, '255', '255'],
  ] as const) {
    const smsc = await sim(t, { idFormat, receiptIdFormat, idStart: 255, receipts: { delayMs: 30, segments: 'all' } });
    const { s, got } = await session(t, smsc.port);
    const t0 = Date.now();
    t.same(await s.submit(sub()), { kind: 'accepted', carrierMessageId: respId });
    await until(() => got.length === 1);
    t.ok(Date.now() - t0 >= 25, 'after the configured delay');
    const r = got[0]!;
    t.equal(fieldNum(r, 'esm_class'), 0x04);
    t.equal(fieldStr(r, 'source_addr'), '8613800138000', 'from the handset');
    t.equal(fieldStr(r, 'destination_addr'), '10690001');
    t.equal(r.tlvs['receipted_message_id'], dlrId);
    t.equal(r.tlvs['message_state'], 2);
    t.match(fieldBuf(r, 'short_message').toString('latin1'), new RegExp(`^id:${dlrId} sub:001 dlvrd:001 submit date:\\d{10} done date:\\d{10} stat:DELIVRD err:000 text:your code is 123456$`));
    await until(() => smsc.recorder.responses.some((x) => x.command === 'deliver_sm_resp'));
  }
});

t.test('receipt outcome mix, failure-only registered_delivery, none requested', async (t) => {
  let i = 0;
  const seq = [0.1, 0.3, 0.5, 0.7, 0.9];
  const smsc = await sim(t, {
    receipts: { delayMs: 0, mix: { DELIVRD: 1, UNDELIV: 1, EXPIRED: 1, REJECTD: 1, UNKNOWN: 1 } },
    random: () => seq[i++ % seq.length]!,
  });
  const { s, got } = await session(t, smsc.port);
  for (let k = 0; k < 5; k++) await s.submit(sub());
  await until(() => got.length === 5);
  const stats = got.map((p) => /stat:(\w+)/.exec(fieldBuf(p, 'short_message').toString('latin1'))![1]);
  t.same(stats, ['DELIVRD', 'UNDELIV', 'EXPIRED', 'REJECTD', 'UNKNOWN']);
  t.same(got.map((p) => p.tlvs['message_state']), [2, 5, 3, 8, 7]);
  t.match(fieldBuf(got[1]!, 'short_message').toString('latin1'), /dlvrd:000 .* err:001 /);
  got.length = 0;
  await s.submit(sub({ registeredDelivery: 0 }));
  await s.submit(sub({ registeredDelivery: 2 })); // failure only: random 0.1 → DELIVRD → no receipt
  await s.submit(sub({ registeredDelivery: 2 })); // 0.3 → UNDELIV → receipt
  await until(() => got.length === 1);
  await new Promise((r) => setTimeout(r, 50));
  t.equal(got.length, 1);
  t.match(fieldBuf(got[0]!, 'short_message').toString('latin1'), /stat:UNDELIV/);
});

t.test('receipts for the last segment only (UDH and SAR), and receipts that never come', async (t) => {
  const smsc = await sim(t, { receipts: { delayMs: 0, segments: 'last' } });
  const { s, got } = await session(t, smsc.port);
  for (let p = 1; p <= 3; p++) {
    await s.submit(sub({ esmClass: 0x40, shortMessage: Buffer.concat([Buffer.from([5, 0, 3, 7, 3, p]), Buffer.from(`part${p}`)]) }));
  }
  for (let p = 1; p <= 2; p++) await s.submit(sub({ sarMsgRefNum: 300, sarTotalSegments: 2, sarSegmentSeqnum: p }));
  await s.submit(sub());
  await until(() => got.length === 3);
  await new Promise((r) => setTimeout(r, 50));
  t.equal(got.length, 3, 'UDH part 3, SAR part 2, and the single-part message');
  t.same(got.map((g) => g.tlvs['receipted_message_id']), ['3', '5', '6']);
  smsc.configure({ receipts: { segments: 'none' } });
  await s.submit(sub());
  await new Promise((r) => setTimeout(r, 80));
  t.equal(got.length, 3, 'no receipt comes');
});

t.test('receipts go to a receiver bind of the account, and wait for one to bind', async (t) => {
  const smsc = await sim(t, { receipts: { delayMs: 0 } });
  const { s: tx } = await session(t, smsc.port, { mode: 'transmitter' });
  await tx.submit(sub());
  await new Promise((r) => setTimeout(r, 30));
  const { got } = await session(t, smsc.port, { mode: 'receiver' });
  await until(() => got.length === 1);
  t.equal(got[0]!.tlvs['receipted_message_id'], '1', 'held receipt delivered on bind');
  await until(() => smsc.recorder.responses.some((r) => r.command === 'deliver_sm_resp' && r.status === 0));
  t.ok(smsc.recorder.responses.some((r) => r.command === 'deliver_sm_resp' && r.status === 0), 'a receipt arriving right behind bind_resp is acked');
  await tx.submit(sub());
  await until(() => got.length === 2);
  t.equal(got.length, 2, 'later receipts go straight to the receiver');
});

t.test('throttle every Nth, error every Nth, error by destination', async (t) => {
  const smsc = await sim(t, { throttleEvery: 3, errorEvery: { n: 4, status: 0x14 }, errorByDest: { '8613900000000': 0x0b }, receipts: { segments: 'none' } });
  const { s } = await session(t, smsc.port);
  const outs = [];
  for (let k = 1; k <= 6; k++) outs.push(await s.submit(sub()));
  t.same(outs.map((o) => (o.kind === 'rejected' ? o.statusName : o.kind)), ['accepted', 'accepted', 'ESME_RTHROTTLED', 'ESME_RMSGQFUL', 'accepted', 'ESME_RTHROTTLED']);
  t.same(await s.submit(sub({ destinationAddr: '8613900000000' })), { kind: 'rejected', commandStatus: 0x0b, statusName: 'ESME_RINVDSTADR' });
  t.equal(smsc.recorder.submits[2]!.status, 0x58, 'recorded with the status given');
});

t.test('slow mode: resps wait; outstanding is recorded per connection', async (t) => {
  const smsc = await sim(t, { respDelayMs: 60, receipts: { segments: 'none' } });
  const { s } = await session(t, smsc.port);
  const t0 = Date.now();
  await Promise.all(Array.from({ length: 7 }, () => s.submit(sub())));
  t.ok(Date.now() - t0 >= 55);
  t.same(smsc.recorder.stats(0), { submits: 7, outstanding: 0, maxOutstanding: 7 });
  t.equal(smsc.recorder.maxOutstanding(), 7);
});

t.test('drop after N submits: the Nth is not answered, the connection is cut', async (t) => {
  const smsc = await sim(t, { dropAfterSubmits: 3, receipts: { segments: 'none' } });
  const { s } = await session(t, smsc.port);
  t.equal((await s.submit(sub())).kind, 'accepted');
  t.equal((await s.submit(sub())).kind, 'accepted');
  t.same(await s.submit(sub()), { kind: 'disconnected' });
  t.equal((await s.closed).reason, 'peer_closed');
});

t.test('silent mode: no resp to bind, submit or enquire_link', async (t) => {
  const smsc = await sim(t, { silent: true });
  const s = new SmppSession({ host: '127.0.0.1', port: smsc.port, mode: 'transceiver', systemId: 'xinge', password: 'secret', window: 1, responseTimeoutMs: 100, enquireLinkMs: 10000 });
  await t.rejects(s.connect(), { code: 'smpp_bind_timeout' });
  t.same(smsc.recorder.binds, [], 'silent: the bind is not even answered');
});

t.test('MO injection: UCS-2 in UDH parts, GSM 03.38, GB18030 bytes over SAR', async (t) => {
  const smsc = await sim(t);
  const { got } = await session(t, smsc.port);
  const long = '您好，我已经还款了，请不要再发催收短信。'.repeat(5); // 100 UTF-16 units → 2 parts of ≤67
  smsc.injectMo({ from: '8613800138000', to: '1069000012', text: long });
  await until(() => got.length === 2);
  const parts = got.splice(0);
  t.ok(parts.every((p) => fieldNum(p, 'esm_class') === 0x40 && fieldNum(p, 'data_coding') === 8));
  const bodies = parts.map((p) => fieldBuf(p, 'short_message'));
  t.same(bodies.map((b) => [...b.subarray(0, 3)]), [[5, 0, 3], [5, 0, 3]]);
  t.same(bodies.map((b) => [b[4], b[5]]), [[2, 1], [2, 2]]);
  t.ok(bodies.every((b) => b.length <= 140));
  t.equal(Buffer.concat(bodies.map((b) => b.subarray(6))).swap16().toString('utf16le'), long);

  smsc.injectMo({ from: '8613800138000', to: '1069', text: 'PAID {ok}' });
  await until(() => got.length === 1);
  const g = got.shift()!;
  t.equal(fieldNum(g, 'data_coding'), 0);
  t.same([...fieldBuf(g, 'short_message')], [0x50, 0x41, 0x49, 0x44, 0x20, 0x1b, 0x28, 0x6f, 0x6b, 0x1b, 0x29], 'GSM 03.38 septets with escapes for { }');
  t.equal(fieldStr(g, 'source_addr'), '8613800138000');

  // GB18030 bytes (2-octet characters) under data_coding 15, split over SAR with no character cut
  const gb = Buffer.alloc(300);
  for (let k = 0; k < 150; k++) gb.set([0xb0 + (k % 10), 0xa1 + (k % 50)], k * 2);
  smsc.injectMo({ from: '8613800138000', to: '1069', bytes: gb, dataCoding: 15, concat: 'sar' });
  await until(() => got.length === 3);
  t.ok(got.every((p) => p.tlvs['sar_total_segments'] === 3 && fieldNum(p, 'esm_class') === 0));
  t.same(got.map((p) => p.tlvs['sar_segment_seqnum']), [1, 2, 3]);
  t.ok(got.every((p) => fieldBuf(p, 'short_message').length % 2 === 0), 'no GB18030 character split');
  t.ok(Buffer.concat(got.map((p) => fieldBuf(p, 'short_message'))).equals(gb));
  t.equal(fieldNum(got[0]!, 'data_coding'), 15);
});

t.test('answers enquire_link, unbind; generic_nack for unknown; error resp for a bad body; closes on absurd length', async (t) => {
  const smsc = await sim(t);
  const sock = net.connect(smsc.port, '127.0.0.1');
  t.teardown(() => sock.destroy());
  await new Promise((r) => sock.once('connect', r));
  const framer = new PduFramer();
  const got: Pdu[] = [];
  sock.on('data', (c) => got.push(...framer.push(c).map(decodePdu)));
  const bind = Buffer.from('0000002200000009000000000000000178696e67650073656372657400003400000000'.slice(0, 68), 'hex');
  sock.write(bind);
  sock.write(encodeHeader(0x15, 0, 2));
  sock.write(encodeHeader(0x0999, 0, 3));
  const bad = encodeSubmitSm(4, sub());
  bad[bad.length - 20] = 250; // sm_length past the end
  sock.write(bad);
  await until(() => got.length === 4);
  t.same(got.map((p) => [p.command, p.commandStatus, p.sequenceNumber]), [
    ['bind_transceiver_resp', 0, 1],
    ['enquire_link_resp', 0, 2],
    ['generic_nack', 3, 3],
    ['submit_sm_resp', 1, 4],
  ]);
  const absurd = encodeHeader(0x15, 0, 5);
  absurd.writeUInt32BE(0x00ffffff, 0);
  sock.write(absurd);
  await new Promise((r) => sock.once('close', r));
  t.ok(sock.destroyed, 'connection closed on a framing error');
});

t.test('runSim parses CLI-style options', async (t) => {
  const h = await runSim({ port: '0', slowMs: '5', throttleEvery: '2', idFormat: 'hex', idStart: '255', receiptMix: 'DELIVRD=9,UNDELIV=1', receipts: 'last', errorEvery: '10:20', accounts: 'b:pw' });
  t.teardown(() => h.stop());
  t.ok(h.port > 0);
  const o = h.sim.options;
  t.same([o.respDelayMs, o.throttleEvery, o.idFormat, o.receipts.segments, o.receipts.mix, o.errorEvery, o.accounts.length], [5, 2, 'hex', 'last', { DELIVRD: 9, UNDELIV: 1 }, { n: 10, status: 20 }, 2]);
  const { s } = await session(t, h.port);
  t.same(await s.submit(sub()), { kind: 'accepted', carrierMessageId: 'ff' });
  t.throws(() => parseSimOptions({ port: 'x' }), RangeError);
  t.throws(() => parseSimOptions({ receiptMix: 'NOPE=1' }), RangeError);
  t.throws(() => parseSimOptions({ idFormat: 'octal' }), RangeError);
  t.equal(parseSimOptions({ receiptCopies: '3' }).receipts?.copies, 3, '--receipt-copies');
  t.throws(() => parseSimOptions({ receiptCopies: '0' }), RangeError, 'no copies is --receipts none');
  t.throws(() => parseSimOptions({ receiptCopies: '1000' }), RangeError);
  t.equal(parseSimOptions({ receiptRetryMs: '250' }).receipts?.retryMs, 250, '--receipt-retry-ms');
  t.throws(() => parseSimOptions({ receiptRetryMs: '-1' }), RangeError);
});

t.test('receipts.retryMs: a receipt answered with an error comes again until answered ESME_ROK, at most 10 more times; one answered ESME_ROK does not', async (t) => {
  // Receipts 100 ms after the resp: the test knows the ids by then.
  const smsc = await sim(t, { receipts: { delayMs: 100, mix: { DELIVRD: 1 }, segments: 'all', retryMs: 20 } });
  const s = new SmppSession({ host: '127.0.0.1', port: smsc.port, mode: 'transceiver', systemId: 'xinge', password: 'secret', window: 10, responseTimeoutMs: 2000, enquireLinkMs: 30000 });
  const got = new Map<string, number>();
  // The first message's receipt is refused twice (the gateway's store is away), the second's
  // always; everything else is taken at once.
  s.on('deliver', (p, ack) => {
    const id = String(p.tlvs['receipted_message_id']);
    const n = (got.get(id) ?? 0) + 1;
    got.set(id, n);
    ack(id === ids[0] && n <= 2 ? 0x08 : id === ids[1] ? 0x08 : 0);
  });
  await s.connect();
  t.teardown(() => s.close());
  const ids: string[] = [];
  for (const to of ['8613800138000', '8613800138001', '8613800138002']) {
    const r = await s.submit(sub({ destinationAddr: to }));
    ids.push(r.kind === 'accepted' ? r.carrierMessageId : '');
  }
  await until(() => (got.get(ids[1]!) ?? 0) >= 11, 5000);
  await new Promise((r) => setTimeout(r, 150));
  t.equal(got.get(ids[0]!), 3, 'refused twice, taken the third time');
  t.equal(got.get(ids[1]!), 11, 'always refused: the first send and 10 more');
  t.equal(got.get(ids[2]!), 1, 'taken at once: sent once');
});

t.test('receipt helpers', async (t) => {
  t.equal(pickOutcome({}, () => 0.5), 'DELIVRD');
  t.equal(pickOutcome({ EXPIRED: 1 }, () => 0.99), 'EXPIRED');
  t.ok(isLastSegment(0, Buffer.from('x'), {}));
  t.notOk(isLastSegment(0x40, Buffer.from([5, 0, 3, 1, 2, 1, 0x41]), {}));
  t.ok(isLastSegment(0x40, Buffer.from([6, 8, 4, 1, 1, 2, 2, 0x41]), {}), '16-bit reference UDH');
  t.notOk(isLastSegment(0, Buffer.from('x'), { sar_total_segments: 2, sar_segment_seqnum: 1 }));
  const d = new Date(Date.UTC(2026, 0, 2, 3, 4));
  t.equal(receiptText({ id: '7', stat: 'EXPIRED', submitted: d, done: d, text: 'abc' }), 'id:7 sub:001 dlvrd:000 submit date:2601020304 done date:2601020304 stat:EXPIRED err:002 text:abc');
});
