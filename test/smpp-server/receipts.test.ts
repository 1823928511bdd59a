/** Receipts and replies back to SMPP clients (issue 16 point 3): deliver_sm on receiver binds, queued durably while none is bound. */
import t from 'tap';
import { decodeUcs2, encodeUcs2 } from '../../src/encoding/index.js';
import { waitFor } from '../helpers/fixtures.js';
import { collectDelivers, esme, scrape, SIG, sm, startServerEnv } from './helpers.js';

t.test('a receipt is queued durably while the client is unbound and sent when a receiver binds', async (t) => {
  const { env, port } = await startServerEnv(t, { carriers: [{ id: 'c1', sim: { receipts: { delayMs: 20 } } }] });
  await waitFor(() => env.app.carriers.get('c1')!.connector.isUp(), 5000, 'carrier bound');
  const tx = esme(port, 'transmitter');
  await tx.connect();
  const o = await tx.submit(sm('13800138000', encodeUcs2(`${SIG}您的借款明日到期`)));
  if (o.kind !== 'accepted') throw new Error('not accepted');
  const id = o.carrierMessageId;
  await tx.unbind();
  await waitFor(() => env.app.store.messages.getMessage(id)?.status === 'delivered', 5000, 'delivered');
  await waitFor(() => env.app.store.smppOutbox.counts().get('legacy') === 1, 5000, 'receipt owed');
  t.match(await scrape(env), /xinge_smpp_server_owed\{client="legacy"\} 1/);

  // A restart in between: the owed receipt is in the store, not in memory.
  const app = await env.restart();
  t.equal(app.store.smppOutbox.counts().get('legacy'), 1, 'still owed after a restart');

  const rx = esme(port, 'receiver');
  const got = collectDelivers(rx);
  await rx.connect();
  t.teardown(() => rx.close());
  const r = await waitFor(() => got[0], 5000, 'deliver_sm receipt');
  t.equal(r.fields['esm_class'], 0x04, 'marked as a delivery receipt');
  t.equal(r.tlvs['receipted_message_id'], id);
  t.equal(r.tlvs['message_state'], 2, 'DELIVERED');
  t.equal(r.fields['source_addr'], '8613800138000');
  t.match(
    (r.fields['short_message'] as Buffer).toString('latin1'),
    new RegExp(`^id:${id} sub:001 dlvrd:001 submit date:\\d{10} done date:\\d{10} stat:DELIVRD err:000 text:$`),
  );
  await waitFor(() => (app.store.smppOutbox.counts().get('legacy') ?? 0) === 0, 5000, 'cleared once answered');
  t.match(await scrape(env), /xinge_smpp_server_delivers_total\{client="legacy",kind="receipt",result="ok"\} 1/);
});

t.test('on a transceiver bind: the receipt comes on the same bind; a reply to the number is forwarded as MO', async (t) => {
  const { env, port } = await startServerEnv(t, { carriers: [{ id: 'c1', sim: { receipts: { delayMs: 20 } } }] });
  const sim = env.sims.get('c1')!;
  await waitFor(() => env.app.carriers.get('c1')!.connector.isUp(), 5000, 'carrier bound');
  const trx = esme(port, 'transceiver');
  // The first is refused: it must stay owed, not be lost.
  const got = collectDelivers(trx, (n) => (n === 0 ? 0x08 : 0));
  await trx.connect();
  t.teardown(() => trx.close());
  const o = await trx.submit(sm('13800138005', encodeUcs2(`${SIG}本期应还500元`)));
  if (o.kind !== 'accepted') throw new Error('not accepted');
  await waitFor(() => got.length >= 1, 15000, 'receipt');
  t.equal(got[0]!.tlvs['receipted_message_id'], o.carrierMessageId);
  t.equal(env.app.store.smppOutbox.counts().get('legacy'), 1, 'refused: still owed');

  sim.injectMo({ from: '8613800138005', to: '10690000', text: '已还款，谢谢' });
  const mo = await waitFor(() => got.find((g) => g.fields['esm_class'] === 0), 15000, 'MO forwarded');
  t.equal(mo.fields['source_addr'], '8613800138005');
  t.equal(mo.fields['data_coding'], 8);
  t.equal(decodeUcs2(mo.fields['short_message'] as Buffer), '已还款，谢谢');

  // registered_delivery: 0 asks for no receipt, 2 only for a failure; a delivered message then sends none.
  const ids: string[] = [];
  for (const rd of [0, 2, 1]) {
    const x = await trx.submit(sm('13800138005', encodeUcs2(`${SIG}回执${rd}`), { registeredDelivery: rd }));
    if (x.kind !== 'accepted') throw new Error('not accepted');
    ids.push(x.carrierMessageId);
    await waitFor(() => env.app.store.messages.getMessage(x.carrierMessageId)?.status === 'delivered', 5000, 'delivered');
  }
  await waitFor(() => got.find((g) => g.tlvs['receipted_message_id'] === ids[2]), 5000, 'the receipt asked for');
  t.notOk(got.some((g) => g.tlvs['receipted_message_id'] === ids[0] || g.tlvs['receipted_message_id'] === ids[1]), 'none for 0 or 2 when delivered');
});

t.test('a multipart whose last part never comes is given up: its id gets a REJECTD receipt', async (t) => {
  let clock = Date.now();
  const { env, port } = await startServerEnv(t, { now: () => clock });
  const trx = esme(port, 'transceiver');
  const got = collectDelivers(trx);
  await trx.connect();
  t.teardown(() => trx.close());
  const part1 = Buffer.concat([Buffer.from([5, 0, 3, 77, 2, 1]), encodeUcs2(`${SIG}第一部分`)]);
  const o = await trx.submit(sm('13800138006', part1, { esmClass: 0x40 }));
  if (o.kind !== 'accepted') throw new Error('not accepted');
  clock += 61_000;
  // The sweep runs every 5 s of wall time.
  const r = await waitFor(() => got.find((g) => g.tlvs['receipted_message_id'] === o.carrierMessageId), 15000, 'REJECTD receipt');
  t.equal(r.tlvs['message_state'], 8, 'REJECTED');
  t.match((r.fields['short_message'] as Buffer).toString('latin1'), /stat:REJECTD/);
  t.equal(env.app.store.messages.getMessage(o.carrierMessageId), undefined, 'nothing stored');
});
