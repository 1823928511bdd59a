/** Per-client TPS and window (issue 16 point 4): over them the client gets ESME_RTHROTTLED. */
import t from 'tap';
import { Status } from '../../src/carriers/smpp/command-status.js';
import { encodeUcs2 } from '../../src/encoding/index.js';
import { waitFor } from '../helpers/fixtures.js';
import { esme, PASSWORD, RawPeer, scrape, SIG, sm, startServerEnv } from './helpers.js';

t.test('over its tps a client gets ESME_RTHROTTLED; the next second it may send again', async (t) => {
  let clock = Date.parse('2026-12-07T02:00:00Z');
  const { env, port } = await startServerEnv(t, { account: { tps: 2 }, now: () => clock });
  await waitFor(() => env.app.carriers.get('c1')!.connector.isUp(), 5000, 'carrier bound');
  const s = esme(port, 'transmitter');
  await s.connect();
  t.teardown(() => s.close());
  const send = async () => {
    const o = await s.submit(sm('13800138000', encodeUcs2(`${SIG}提醒`)));
    return o.kind === 'accepted' ? 0 : o.kind === 'rejected' ? o.commandStatus : -1;
  };
  t.same([await send(), await send(), await send()], [0, 0, Status.ESME_RTHROTTLED], 'two a second, the third throttled');
  clock += 1000;
  t.same([await send(), await send(), await send()], [0, 0, Status.ESME_RTHROTTLED], 'a second later: two again');
  t.match(await scrape(env), /xinge_smpp_server_submits_total\{client="legacy",result="ESME_RTHROTTLED"\} 2/);
});

t.test('past its window (submits not yet answered) a client gets ESME_RTHROTTLED', async (t) => {
  const { env, port } = await startServerEnv(t, { account: { window: 1 } });
  await waitFor(() => env.app.carriers.get('c1')!.connector.isUp(), 5000, 'carrier bound');
  const raw = await RawPeer.connect(port);
  t.teardown(() => raw.destroy());
  raw.send('bind_transmitter', 1, { system_id: 'legacy', password: PASSWORD });
  await raw.next((p) => p.sequenceNumber === 1);
  const { encodeSubmitSm } = await import('../../src/carriers/smpp/codec.js');
  // Three in one write: the first is still being committed when the others are read.
  raw.write(Buffer.concat([2, 3, 4].map((seq) => encodeSubmitSm(seq, sm('13800138000', encodeUcs2(`${SIG}窗口${seq}`))))));
  const resps = await Promise.all([2, 3, 4].map((seq) => raw.next((p) => p.sequenceNumber === seq)));
  t.equal(resps[0]!.commandStatus, 0);
  t.same(resps.slice(1).map((r) => r.commandStatus), [Status.ESME_RTHROTTLED, Status.ESME_RTHROTTLED]);
});
