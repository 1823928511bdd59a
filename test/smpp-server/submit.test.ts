/** submit_sm into the HTTP pipeline (issue 16 point 2): single, UDH, SAR, message_payload, policy refusals, data_sm. */
import t from 'tap';
import { Status } from '../../src/carriers/smpp/command-status.js';
import type { SessionSubmitOutcome as SubmitOutcome } from '../../src/carriers/smpp/session-types.js';
import { decodeUcs2, encodeUcs2 } from '../../src/encoding/index.js';
import { SmppRefusal } from '../../src/smpp-server/refusals.js';
import { waitFor } from '../helpers/fixtures.js';
import { esme, RawPeer, scrape, SIG, sm, startServerEnv, udhParts } from './helpers.js';

const accepted = (o: SubmitOutcome): string => {
  if (o.kind !== 'accepted') throw new Error(`not accepted: ${JSON.stringify(o)}`);
  return o.carrierMessageId;
};
const status = (o: SubmitOutcome): number => (o.kind === 'rejected' ? o.commandStatus : o.kind === 'accepted' ? 0 : -1);

t.test('submit_sm goes through the same store, policy and routing as HTTP', async (t) => {
  const { env, port } = await startServerEnv(t, { patch: (cfg) => ((cfg.policy as Record<string, unknown>).forbidden_words = ['上门曝光']) });
  const sim = env.sims.get('c1')!;
  await waitFor(() => env.app.carriers.get('c1')!.connector.isUp(), 5000, 'carrier bound');
  const s = esme(port, 'transceiver');
  await s.connect();
  t.teardown(() => s.close());

  t.test('single part: the resp carries the gateway id; the carrier gets the text', async (t) => {
    const text = `${SIG}您的借款明日到期`;
    const id = accepted(await s.submit(sm('13800138000', encodeUcs2(text))));
    t.match(id, /^msg/);
    const m = env.app.store.messages.getMessage(id)!;
    t.equal(m.client, 'smpp:legacy');
    t.equal(m.category, 'notification');
    t.equal(m.to, '+8613800138000');
    const got = await waitFor(() => sim.recorder.submits.find((r) => r.destination === '8613800138000'), 5000, 'on the carrier');
    t.equal(decodeUcs2(got.shortMessage), text, 'signature checked, not prepended twice');
  });

  t.test('UDH multipart: one message, one id, parts go on as they came', async (t) => {
    // Cut at 58 characters, not the 67 the carrier's segmentation would take: kept as cut.
    const text = SIG + '尊敬的客户，您本期账单已出，应还金额请登录APP查看，如已还款请忽略本短信。'.repeat(3);
    const parts = udhParts(text, 2, 7);
    t.not(parts[0]!.length - 6, 67 * 2, "not the carrier's own cut");
    const ids = [];
    for (const p of parts) ids.push(accepted(await s.submit(sm('13800138001', p, { esmClass: 0x40 }))));
    t.equal(ids[0], ids[1], 'every part answered with the message id');
    const m = env.app.store.messages.getMessage(ids[0]!)!;
    t.equal(m.segmentsCount, 2, 'tracked as one message of two parts');
    const got = await waitFor(() => {
      const r = sim.recorder.submits.filter((x) => x.destination === '8613800138001');
      return r.length === 2 ? r.sort((x, y) => x.shortMessage[5]! - y.shortMessage[5]!) : undefined;
    }, 5000, 'both parts on the carrier');
    for (let i = 0; i < 2; i++) {
      t.same(got[i]!.shortMessage.subarray(6), parts[i]!.subarray(6), `part ${i + 1}: same user data`);
      t.equal(got[i]!.esmClass & 0x40, 0x40);
    }
  });

  t.test('SAR multipart and message_payload', async (t) => {
    const a = `${SIG}第一段`;
    const b = '第二段内容';
    const sar = (seq: number) => ({ sarMsgRefNum: 300, sarTotalSegments: 2, sarSegmentSeqnum: seq });
    const id1 = accepted(await s.submit(sm('13800138002', encodeUcs2(a), sar(1))));
    const id2 = accepted(await s.submit(sm('13800138002', encodeUcs2(b), sar(2))));
    t.equal(id1, id2);
    const got = await waitFor(() => {
      const r = sim.recorder.submits.filter((x) => x.destination === '8613800138002');
      return r.length === 2 ? r.sort((x, y) => x.shortMessage[5]! - y.shortMessage[5]!) : undefined;
    }, 5000, 'SAR message on the carrier');
    t.equal(env.app.store.messages.getMessage(id1)!.segmentsCount, 2, 'two parts though it would fit one');
    t.same(got.map((r) => decodeUcs2(r.shortMessage.subarray(6))), [a, b], 'the parts as they came (the carrier joins them by UDH)');

    const long = SIG + '长'.repeat(150);
    const id3 = accepted(await s.submit(sm('13800138003', Buffer.alloc(0), { messagePayload: encodeUcs2(long) })));
    t.equal(env.app.store.messages.getMessage(id3)!.segmentsCount, 3, 'message_payload text counted by the carrier');
  });

  t.test('policy refusals map to documented command_status values', async (t) => {
    t.equal(status(await s.submit(sm('13800138000', encodeUcs2('没有签名的短信')))), SmppRefusal.SIGNATURE_MISSING);
    t.equal(status(await s.submit(sm('12345', encodeUcs2(`${SIG}号码不对`)))), Status.ESME_RINVDSTADR);
    t.equal(status(await s.submit(sm('13800138000', encodeUcs2(`${SIG}再不还就上门曝光`)))), SmppRefusal.FORBIDDEN_CONTENT);
    t.equal(status(await s.submit(sm('13800138000', Buffer.from([1, 2, 3]), { dataCoding: 4 }))), SmppRefusal.INVALID_DCS);
  });

  t.test('lint runs on the joined text: a forbidden word split across parts is refused', async (t) => {
    const p1 = Buffer.concat([Buffer.from([5, 0, 3, 9, 2, 1]), encodeUcs2(`${SIG}再不还就上门`)]);
    const p2 = Buffer.concat([Buffer.from([5, 0, 3, 9, 2, 2]), encodeUcs2('曝光')]);
    const first = await s.submit(sm('13800138009', p1, { esmClass: 0x40 }));
    const id = accepted(first);
    t.equal(status(await s.submit(sm('13800138009', p2, { esmClass: 0x40 }))), SmppRefusal.FORBIDDEN_CONTENT);
    t.equal(env.app.store.messages.getMessage(id), undefined, 'nothing stored');
    const owed = () => env.app.store.smppOutbox.pending('legacy', 0, 100).map((r) => JSON.parse(r.body) as { messageId?: string; status?: string });
    await waitFor(() => owed().some((b) => b.messageId === id && b.status === 'rejected'), 5000, 'the id handed out gets a REJECTD receipt');
    t.ok(owed().some((b) => b.messageId === id && b.status === 'rejected'), 'the id handed out gets a REJECTD receipt');
  });

  t.test('data_sm is refused with data_sm_resp ESME_RINVCMDID; submit_sm on a receiver bind with ESME_RINVBNDSTS', async (t) => {
    const raw = await RawPeer.connect(port);
    t.teardown(() => raw.destroy());
    raw.send('bind_receiver', 1, { system_id: 'legacy', password: 'pw-leg1' });
    t.equal((await raw.next((p) => p.sequenceNumber === 1)).commandStatus, 0);
    raw.send('data_sm', 2, { source_addr: '1', destination_addr: '13800138000', data_coding: 8 });
    const d = await raw.next((p) => p.sequenceNumber === 2);
    t.equal(d.command, 'data_sm_resp');
    t.equal(d.commandStatus, Status.ESME_RINVCMDID);
    raw.send('submit_sm', 3, { source_addr: '1', destination_addr: '13800138000', short_message: Buffer.from('x') });
    const r = await raw.next((p) => p.sequenceNumber === 3);
    t.equal(r.command, 'submit_sm_resp');
    t.equal(r.commandStatus, Status.ESME_RINVBNDSTS);
  });

  t.test('metrics by client', async (t) => {
    const text = await scrape(env);
    t.match(text, /xinge_smpp_server_submits_total\{client="legacy",result="accepted"\} \d+/);
    t.match(text, /xinge_smpp_server_submits_total\{client="legacy",result="ESME_0x00000404"\} 1/);
    t.match(text, /xinge_smpp_server_pdus_total\{client="legacy",command="submit_sm"\} \d+/);
  });
});

t.test('a part answered ESME_ROK is kept across a restart: the message completes after it', async (t) => {
  const { env, port } = await startServerEnv(t);
  const text = `${SIG}您好，本期账单已出，请按时还款，谢谢。`;
  const parts = udhParts(text, 2, 42);
  const first = esme(port, 'transmitter');
  await first.connect();
  const id = accepted(await first.submit(sm('13800138007', parts[0]!, { esmClass: 0x40 })));
  await first.unbind();
  const app = await env.restart();
  const again = esme(port, 'transmitter');
  await again.connect();
  t.teardown(() => again.close());
  // The client resends nothing: only the part it had not sent yet.
  t.equal(accepted(await again.submit(sm('13800138007', parts[1]!, { esmClass: 0x40 }))), id, 'the same id after the restart');
  const m = app.store.messages.getMessage(id)!;
  t.equal(m.segmentsCount, 2);
  t.equal(m.client, 'smpp:legacy');
  t.same(app.store.smppOutbox.staleParts(Date.now() + 1), [], 'held parts cleared with the insert');
});
