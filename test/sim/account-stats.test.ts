/**
 * Issue 21: the simulator counts, per system_id, the binds open now and at most and the most
 * submit_sm in any one-second window, readable in-process and, when it runs as its own
 * process, over its HTTP port (GET /sim/accounts).
 */
import t from 'tap';
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { SmppSession } from '../../src/carriers/smpp/session.js';
import { SmscSimulator } from '../../src/sim/smsc.js';
import { AccountCounters, type AccountStats } from '../../src/sim/account-stats.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
type Teardown = { teardown(fn: () => unknown): void };

async function bind(t: Teardown, port: number, systemId = 'xinge', password = 'secret', mode: 'transceiver' | 'transmitter' | 'receiver' = 'transceiver'): Promise<SmppSession> {
  const s = new SmppSession({ host: '127.0.0.1', port, mode, systemId, password, window: 50, responseTimeoutMs: 5000, enquireLinkMs: 30000 });
  await s.connect();
  t.teardown(() => s.close());
  return s;
}

const submit = (s: SmppSession) =>
  s.submit({
    sourceAddrTon: 0, sourceAddrNpi: 1, sourceAddr: '10690001', destAddrTon: 1, destAddrNpi: 1,
    destinationAddr: '8613800138000', esmClass: 0, registeredDelivery: 0, dataCoding: 0, shortMessage: Buffer.from('hello'),
  });

const until = async (cond: () => boolean | Promise<boolean>, ms = 10000, what = 'condition') => {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
};

t.test('the submit rate is the most submits within any 1000 ms (sliding window, injected clock)', async (t) => {
  let now = 0;
  const c = new AccountCounters(() => now);
  // 3 at t=0, 4 at t=600: the window ending at 600 holds 7.
  for (let i = 0; i < 3; i++) c.submitted('a');
  now = 600;
  for (let i = 0; i < 4; i++) c.submitted('a');
  t.equal(c.get('a').maxSubmitsPerSecond, 7);
  // At t=1000 the first three are out of the window (they are exactly 1000 ms old): 4 + 5 = 9.
  now = 1000;
  for (let i = 0; i < 5; i++) c.submitted('a');
  t.equal(c.get('a').maxSubmitsPerSecond, 9, 'a submit exactly 1000 ms old is outside the window');
  // Far later, 2 alone: the maximum stays.
  now = 5000;
  c.submitted('a');
  c.submitted('a');
  t.same(c.get('a'), { systemId: 'a', binds: 0, maxBinds: 0, submits: 14, maxSubmitsPerSecond: 9 });
  t.equal(c.get('b').submits, 0, 'accounts are counted apart');
  // Many submits spread out: the window stays one second wide after compaction.
  for (let i = 0; i < 5000; i++) {
    now += 10; // 100 per second
    c.submitted('steady');
  }
  t.equal(c.get('steady').maxSubmitsPerSecond, 100);
  c.reset();
  t.same(c.get('steady'), { systemId: 'steady', binds: 0, maxBinds: 0, submits: 0, maxSubmitsPerSecond: 0 });
});

t.test('in-process: binds open now and at most per system_id; unbind and close both count down', async (t) => {
  const sim = new SmscSimulator({ accounts: [{ systemId: 'xinge', password: 'secret' }, { systemId: 'other', password: 'pw' }], receipts: { segments: 'none' } });
  await sim.start();
  t.teardown(() => sim.stop());
  const a = await bind(t, sim.port);
  const b = await bind(t, sim.port, 'xinge', 'secret', 'transmitter');
  const c = await bind(t, sim.port, 'xinge', 'secret', 'receiver');
  await bind(t, sim.port, 'other', 'pw');
  // A refused bind is not a bind.
  const bad = new SmppSession({ host: '127.0.0.1', port: sim.port, mode: 'transceiver', systemId: 'xinge', password: 'nope', window: 1, responseTimeoutMs: 5000, enquireLinkMs: 30000 });
  await t.rejects(bad.connect());
  t.match(sim.accountStats('xinge'), { binds: 3, maxBinds: 3 });
  t.match(sim.accountStats('other'), { binds: 1, maxBinds: 1 });
  await a.unbind(2000);
  await until(() => sim.accountStats('xinge').binds === 2, 10000, 'the unbind to count');
  c.close(); // no unbind: the connection just closes
  await until(() => sim.accountStats('xinge').binds === 1, 10000, 'the close to count');
  t.match(sim.accountStats('xinge'), { binds: 1, maxBinds: 3 }, 'the maximum stays');
  const outcomes = await Promise.all([submit(b), submit(b), submit(b), submit(b), submit(b)]);
  t.ok(outcomes.every((o) => o.kind === 'accepted'));
  const s = sim.accountStats('xinge');
  t.equal(s.submits, 5);
  // Five submits written together: all within one second unless the machine stalled a second.
  t.ok(s.maxSubmitsPerSecond >= 1 && s.maxSubmitsPerSecond <= 5, `max per second ${s.maxSubmitsPerSecond}`);
  t.same(sim.accountStats().map((x) => x.systemId), ['other', 'xinge']);
  sim.drop(); // the simulator drops everything: nothing left open
  await until(() => sim.accountStats().every((x) => x.binds === 0), 10000, 'all binds closed');
});

t.test('as its own process: GET /sim/accounts and POST /sim/accounts/reset on the simulator HTTP port', async (t) => {
  const child = spawn(process.execPath, ['--import', 'tsx', join(root, 'src', 'sim', 'sim-process.ts'), JSON.stringify({ recordLimit: 0, httpPort: 0, accounts: 'b2:pw' })], {
    cwd: root,
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  t.teardown(() => void child.kill('SIGKILL'));
  const line = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout! }).once('line', resolve);
    child.once('exit', (code) => reject(new Error(`simulator exited (${code})`)));
  });
  const { port, httpPort } = JSON.parse(line) as { port: number; httpPort: number };
  t.ok(port > 0 && httpPort > 0, 'prints both ports');
  const get = async (q = ''): Promise<AccountStats[]> => ((await (await fetch(`http://127.0.0.1:${httpPort}/sim/accounts${q}`)).json()) as { accounts: AccountStats[] }).accounts;
  const s1 = await bind(t, port);
  const s2 = await bind(t, port);
  await bind(t, port, 'b2', 'pw');
  await Promise.all([submit(s1), submit(s2), submit(s2)]);
  t.match(await get('?system_id=xinge'), [{ systemId: 'xinge', binds: 2, maxBinds: 2, submits: 3 }]);
  t.match(await get(), [{ systemId: 'b2', binds: 1 }, { systemId: 'xinge', binds: 2 }]);
  await s2.unbind(2000);
  await until(async () => (await get('?system_id=xinge'))[0]!.binds === 1, 10000, 'the unbind to show');
  const reset = await fetch(`http://127.0.0.1:${httpPort}/sim/accounts/reset`, { method: 'POST' });
  t.equal(reset.status, 200);
  t.match(await get('?system_id=xinge'), [{ binds: 1, maxBinds: 1, submits: 0, maxSubmitsPerSecond: 0 }], 'maxima back to what is open now');
  t.equal((await fetch(`http://127.0.0.1:${httpPort}/sim/accounts/reset`)).status, 405, 'reset is POST only');
  child.stdin!.end();
  await new Promise((r) => child.once('exit', r));
});
