import t from 'tap';
import { auth, waitFor } from '../helpers/fixtures.js';
import { startSmppEnv } from '../helpers/smpp-fixture.js';

// SPEC 5 / issue 4 point 4: an OTP submitted behind 20,000 queued marketing messages goes
// on the wire within the next window × binds + 1 PDUs. Quiet hours are off in the fixture.
t.test('OTP overtakes a 20,000-message marketing backlog on a slow SMSC', async (t) => {
  const window = 10;
  const binds = 2;
  const env = await startSmppEnv(t, [{ id: 'c1', window, binds, sim: { respDelayMs: 20, receipts: { segments: 'none' } } }], (cfg) => {
    (cfg.queue as unknown) = { max_depth: 100000 };
  });
  const sim = env.sims.get('c1')!;
  await waitFor(() => env.app.carriers.get('c1')!.connector.binds().filter((b) => b.state === 'bound').length === binds, 5000, 'binds');
  for (let b = 0; b < 20; b++) {
    const messages = Array.from({ length: 1000 }, (_, i) => ({ to: `138${String(b * 1000 + i).padStart(8, '0')}`, text: 'promo 限时优惠', category: 'marketing' }));
    const res = await env.app.http.inject({ method: 'POST', url: '/v1/sms/batch', headers: auth(), payload: { messages } });
    t.equal(res.json().accepted, 1000, `batch ${b}`);
  }
  await waitFor(() => sim.recorder.submits.length > 100, 10000, 'backlog draining');
  const before = sim.recorder.submits.length;
  const res = await env.app.http.inject({ method: 'POST', url: '/v1/sms', headers: auth(), payload: { to: '13912345678', text: 'code 424242', category: 'otp' } });
  t.equal(res.statusCode, 202, res.body);
  const seen = await waitFor(() => sim.recorder.submits.findIndex((s) => s.destination.endsWith('13912345678')) + 1 || undefined, 10000, 'OTP on the wire');
  const position = seen - before;
  t.ok(position <= window * binds + 1, `OTP was PDU #${position} after acceptance (limit ${window * binds + 1})`);
  t.ok(sim.recorder.submits.length < 20000, 'the backlog had not drained');
  for (const [, st] of sim.recorder.allStats()) t.ok(st.maxOutstanding <= window, 'window respected');
});
