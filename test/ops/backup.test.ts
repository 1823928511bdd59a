/**
 * Issue 20.3: `xinge backup FILE` copies the live store while the daemon runs and accepts
 * traffic, with progress; the copy opens, passes its integrity check and holds every
 * message acknowledged (202) before the backup started. `xinge restore FILE` refuses while
 * the daemon holds the store, and with the daemon stopped puts the copy back: the daemon
 * restarted on it answers for those messages.
 */
import t from 'tap';
import Database from 'better-sqlite3';
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../helpers/fixtures.js';
import { daemonConfig, freePort, http, runCli, startDaemon, waitReady, writeYaml } from '../foundation/fixtures/daemon.js';

t.test('hot backup under load holds every message accepted before it started; restore brings it back', async (t) => {
  const dir = tempDir(t);
  const [httpPort, simPort] = [await freePort(), await freePort()];
  const cfgPath = writeYaml(dir, 'xinge.yaml', daemonConfig(dir, httpPort, simPort, { log: { level: 'warn' } }));
  const d = startDaemon(cfgPath);
  t.teardown(() => d.kill());
  await waitReady(d, httpPort);

  // A store of a few thousand pages, so the copy takes many steps.
  const accepted: Array<{ id: string; at: number }> = [];
  for (let b = 0; b < 6; b++) {
    const messages = Array.from({ length: 1000 }, (_, i) => ({ to: `1380013${String((b * 1000 + i) % 10000).padStart(4, '0')}`, text: `还款提醒 ${b}-${i}：您的借款将于明日到期。`, category: 'notification' }));
    const res = await http(httpPort, 'POST', '/v1/sms/batch', { messages });
    t.equal(res.status, 202);
    for (const r of res.json.results as Array<{ id?: string }>) if (r.id) accepted.push({ id: r.id, at: Date.now() });
  }
  t.equal(accepted.length, 6000, 'pre-filled');

  // Load: four senders until told to stop.
  let stop = false;
  const loaders = Array.from({ length: 4 }, async (_, w) => {
    let n = 0;
    while (!stop) {
      const res = await http(httpPort, 'POST', '/v1/sms', { to: '13900139000', text: `load ${w}-${n++}`, category: 'notification' });
      if (res.status === 202) accepted.push({ id: res.json.id, at: Date.now() });
    }
  });
  await new Promise((r) => setTimeout(r, 300));

  const out = join(dir, 'backup', 'xinge-backup.db');
  mkdirSync(join(dir, 'backup'));
  const startedAt = Date.now();
  const before = accepted.filter((a) => a.at < startedAt).map((a) => a.id);
  const res = await runCli(['backup', out, '--config', cfgPath, '--step-pages', '20'], {}, 120000);
  const endedAt = Date.now();
  const during = accepted.filter((a) => a.at >= startedAt && a.at <= endedAt).length;
  stop = true;
  await Promise.all(loaders);
  t.equal(res.code, 0, `backup exit 0: ${res.stderr.slice(-500)}`);
  const progress = res.stderr.split('\n').filter((l) => /^xinge backup: \d+% \(\d+\/\d+ pages\)$/.test(l));
  t.ok(progress.length >= 5, `progress reported step by step (${progress.length} lines)`);
  t.match(progress.at(-1), /^xinge backup: 100% /);
  t.match(res.stdout, /^xinge backup: wrote .*xinge-backup\.db \(\d+ bytes, \d+ pages, \d+ messages\) in \d+ ms$/m);
  t.ok(during > 0, `the daemon accepted ${during} messages while the backup ran`);
  t.notOk(existsSync(`${out}.partial`), 'no partial file left');
  t.same(readdirSync(join(dir, 'backup')), ['xinge-backup.db'], 'one self-contained file (no -wal beside it)');

  const copy = new Database(out, { readonly: true, fileMustExist: true });
  t.equal(copy.pragma('integrity_check', { simple: true }), 'ok', 'the copy passes integrity_check');
  const has = copy.prepare('SELECT 1 FROM messages WHERE id = ?');
  const missing = before.filter((id) => has.get(id) === undefined);
  t.same(missing.slice(0, 10), [], `every one of the ${before.length} messages accepted before the backup started is in it`);
  const inCopy = (copy.prepare('SELECT count(*) AS n FROM messages').get() as { n: number }).n;
  copy.close();
  t.ok(inCopy >= before.length);

  const again = await runCli(['backup', out, '--config', cfgPath], {}, 60000);
  t.equal(again.code, 1, 'an existing file is not overwritten without --force');
  t.match(again.stderr, /exists: give another file name, or --force/);

  const busy = await runCli(['restore', out, '--config', cfgPath], {}, 60000);
  t.equal(busy.code, 1, 'restore refuses while the daemon holds the store');
  t.match(busy.stderr, /in use: stop the daemon first/);

  d.child.kill('SIGTERM');
  t.equal((await d.exited).code, 0, 'daemon drained');
  const restored = await runCli(['restore', out, '--config', cfgPath], {}, 60000);
  t.equal(restored.code, 0, `restore: ${restored.stderr}`);
  t.match(restored.stdout, /now holds .* \(\d+ messages\); the previous store is kept as .*before-restore-/);

  const d2 = startDaemon(cfgPath);
  t.teardown(() => d2.kill());
  await waitReady(d2, httpPort);
  const sample = [before[0]!, before[Math.floor(before.length / 2)]!, before.at(-1)!];
  for (const id of sample) t.equal((await http(httpPort, 'GET', `/v1/messages/${id}`)).status, 200, `${id} is there after the restore`);
  d2.child.kill('SIGTERM');
  await d2.exited;
});

t.test('backup and restore refuse a PostgreSQL store with a pointer to PostgreSQL\'s tools', async (t) => {
  const dir = tempDir(t);
  const cfg = daemonConfig(dir, 1, 2) as Record<string, any>;
  cfg.store = { driver: 'postgres', url: 'postgres://u:pw@127.0.0.1:1/x', path: join(dir, 'x.db') };
  const cfgPath = writeYaml(dir, 'pg.yaml', cfg);
  for (const cmd of ['backup', 'restore']) {
    const r = await runCli([cmd, join(dir, 'copy.db'), '--config', cfgPath], {}, 60000);
    t.equal(r.code, 2, `${cmd} refuses`);
    t.match(r.stderr, /store\.driver is postgres: .*pg_dump/);
    t.notMatch(r.stderr, /pw@/, 'no password');
  }
});
