/** Log lines (pool, sessions and simulator, at trace level) never hold a full phone number, message text or password. */
import t from 'tap';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { BindPool } from '../../src/carriers/smpp/bind-pool.js';
import { carrierFor, segment, startSim, until } from './helpers.js';

t.test('no phone numbers, text or passwords in any log line', async (t) => {
  const lines: string[] = [];
  const dest = new Writable({
    write(chunk, _e, cb) {
      lines.push(...String(chunk).split('\n').filter(Boolean));
      cb();
    },
  });
  const logger = pino({ level: 'trace' }, dest);
  const sim = await startSim({ logger: logger.child({ c: 'sim' }), receipts: { delayMs: 5, segments: 'all' }, accounts: [{ systemId: 'xinge', password: 'pw4Xq9' }] });
  t.teardown(() => sim.stop());

  const bad = new BindPool(carrierFor(sim.port, { id: 'bad', password: 'Wr0ngPw' }), { logger });
  bad.start();
  await until(() => sim.recorder.binds.length === 1);
  await bad.stop(0);

  const pool = new BindPool(carrierFor(sim.port, { password: 'pw4Xq9', response_timeout_s: 0.2, window: 2 }), { logger });
  t.teardown(() => pool.stop(0));
  const delivered: unknown[] = [];
  pool.on('deliver', (d) => {
    delivered.push(d);
    d.ack();
  });
  pool.start();
  await until(() => pool.isUp());
  const text = Buffer.from('Your code is 482913');
  t.equal((await pool.submit(segment({ to: '8613812345678', part: { shortMessage: text, esmClass: 0, dataCoding: 0 } }))).kind, 'accepted');
  sim.injectMo({ from: '8613987654321', to: '1069000012', text: 'STOP 还款 778899' });
  await until(() => delivered.length === 2);
  sim.injectMalformed('bad-body');
  sim.injectMalformed('unknown-command');
  sim.configure({ errorByDest: { '8613811112222': 0x0b } });
  await pool.submit(segment({ to: '8613811112222', part: { shortMessage: text, esmClass: 0, dataCoding: 0 } }));
  sim.configure({ silent: true });
  t.equal((await pool.submit(segment({ to: '8613833334444', part: { shortMessage: text, esmClass: 0, dataCoding: 0 } }))).kind, 'timeout');
  sim.configure({ silent: false, respDelayMs: 5000 });
  // The timed-out bind may be taken out and rebuilt meanwhile: submit once one is up.
  await until(() => pool.isUp());
  const p = pool.submit(segment({ to: '8613855556666', part: { shortMessage: text, esmClass: 0, dataCoding: 0 } }));
  await until(() => sim.recorder.totalSubmits === 4);
  sim.drop();
  t.equal((await p).kind, 'disconnected');
  await pool.stop(0);

  t.ok(lines.length > 10, `${lines.length} log lines`);
  const all = lines.join('\n');
  for (const secret of ['8613812345678', '13812345678', '8613987654321', '13987654321', '8613811112222', '8613833334444', '8613855556666', '482913', '778899', 'Your code', 'pw4Xq9', 'Wr0ngPw']) {
    t.notOk(all.includes(secret), `no "${secret}" in logs`);
  }
  t.match(all, /138\*\*\*\*5678|138\*\*\*\*2222|138\*\*\*\*4444|138\*\*\*\*6666/, 'masked numbers appear where numbers are logged');
});
