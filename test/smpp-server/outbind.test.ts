/** Carrier outbind (issue 16 point 6): the carrier dials in, sends outbind, the gateway binds as receiver on that connection. */
import t from 'tap';
import { Status } from '../../src/carriers/smpp/command-status.js';
import { auth, waitFor } from '../helpers/fixtures.js';
import { RawPeer, scrape, startServerEnv } from './helpers.js';

t.test('an outbind carrier delivers receipts and replies over the connection it opened', async (t) => {
  const { env, port } = await startServerEnv(t, { carriers: [{ id: 'c1', outbind: true, sim: { receipts: { segments: 'none' } } }] });
  await waitFor(() => env.app.carriers.get('c1')!.connector.isUp(), 5000, 'carrier transmitter bound');
  const sim = env.sims.get('c1')!;

  // The carrier's side, by hand: outbind, then answer the gateway's bind_receiver.
  const smsc = await RawPeer.connect(port);
  t.teardown(() => smsc.destroy());
  smsc.send('outbind', 1, { system_id: 'xinge', password: 'secret' });
  const bind = await smsc.next((p) => p.command === 'bind_receiver');
  t.equal(bind.fields['system_id'], 'xinge', 'binds with the carrier account');
  t.equal(bind.fields['password'], 'secret');
  smsc.send('bind_receiver_resp', bind.sequenceNumber, { system_id: 'smsc' });

  const res = await env.app.http.inject({ method: 'POST', url: '/v1/sms', headers: auth(), payload: { to: '13800138000', text: '您的借款明日到期', category: 'notification' } });
  t.equal(res.statusCode, 202);
  const id = (res.json() as { id: string }).id;
  const sent = await waitFor(() => sim.recorder.submits[0]?.messageId, 5000, 'submitted to the carrier');
  await waitFor(() => env.app.store.messages.getMessage(id)?.status === 'submitted', 5000, 'submitted');

  smsc.send('deliver_sm', 2, {
    source_addr: '8613800138000',
    destination_addr: '10690000',
    esm_class: 0x04,
    short_message: Buffer.from(`id:${sent} sub:001 dlvrd:001 submit date:2612060930 done date:2612060931 stat:DELIVRD err:000 text:`),
    receipted_message_id: sent,
    message_state: 2,
  });
  const ack = await smsc.next((p) => p.command === 'deliver_sm_resp' && p.sequenceNumber === 2);
  t.equal(ack.commandStatus, 0, 'receipt answered after commit');
  await waitFor(() => env.app.store.messages.getMessage(id)?.status === 'delivered', 5000, 'delivered by the outbind receipt');
  t.equal(env.app.store.messages.getMessage(id)?.status, 'delivered', 'the receipt settled the message');

  // A reply over the same connection: an opt-out keyword lands in the opt-out list.
  smsc.send('deliver_sm', 3, { source_addr: '8613800138000', destination_addr: '10690000', esm_class: 0, short_message: Buffer.from('TD') });
  t.equal((await smsc.next((p) => p.command === 'deliver_sm_resp' && p.sequenceNumber === 3)).commandStatus, 0);
  t.ok(env.app.store.aux.isOptedOut('+8613800138000'), 'MO handled as from any bind');

  // The gateway's receiver session answers the carrier's enquire_link.
  smsc.send('enquire_link', 4);
  t.equal((await smsc.next((p) => p.sequenceNumber === 4)).command, 'enquire_link_resp');
});

t.test('an outbind with a wrong password, or from a carrier not marked outbind, is closed', async (t) => {
  const { env, port } = await startServerEnv(t, { carriers: [{ id: 'c1', outbind: true }, { id: 'c2', system_id: 'other', outbind: false }] });
  const wrong = await RawPeer.connect(port);
  wrong.send('outbind', 1, { system_id: 'xinge', password: 'bad' });
  await wrong.closed;
  t.notOk(wrong.received.some((p) => p.command === 'bind_receiver'), 'no bind on a refused outbind');
  const notMarked = await RawPeer.connect(port);
  notMarked.send('outbind', 1, { system_id: 'other', password: 'secret' });
  await notMarked.closed;
  t.notOk(notMarked.received.some((p) => p.command === 'bind_receiver'), 'no bind for a carrier not marked outbind');
  const metrics = await scrape(env);
  t.match(metrics, /xinge_smpp_outbind_refused_total\{carrier="c1",reason="wrong password"\} 1/);
  t.match(metrics, /xinge_smpp_outbind_refused_total\{carrier="unknown",reason="no carrier with outbind for this system_id"\} 1/);
  // An outbind on a bound client connection is not an outbind: refused like any request there.
  const client = await RawPeer.connect(port);
  t.teardown(() => client.destroy());
  client.send('bind_transceiver', 1, { system_id: 'legacy', password: 'pw-leg1' });
  await client.next((p) => p.sequenceNumber === 1);
  client.send('outbind', 2, { system_id: 'xinge', password: 'secret' });
  const nack = await client.next((p) => p.sequenceNumber === 2);
  t.equal(nack.command, 'generic_nack');
  t.equal(nack.commandStatus, Status.ESME_RINVCMDID);
});
