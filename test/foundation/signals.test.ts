/**
 * Issue 2, points 1 and 6, against the daemon as a child process (`node --import tsx
 * src/cli.ts --config FILE`, built-in simulator on a free port):
 * - SIGHUP reloads tokens/policy without dropping binds; a bad file is refused, the old
 *   config kept, and the reason logged (stdout JSON lines);
 * - SIGTERM / SIGINT: intake stops, in-flight work finishes, the store is closed
 *   consistent, exit 0.
 */
import t from 'tap';
import Database from 'better-sqlite3';
import { existsSync, statSync, writeFileSync } from 'node:fs';
import { stringify } from 'yaml';
import { tempDir, waitFor } from '../helpers/fixtures.js';
import { CHILD_TOKEN, daemonConfig, freePort, http, startDaemon, waitReady, writeYaml } from './fixtures/daemon.js';

const sms = (port: number, i: number, token = CHILD_TOKEN, over: Record<string, unknown> = {}) =>
  http(port, 'POST', '/v1/sms', { to: `1380013${String(8000 + (i % 1000)).padStart(4, '0')}`, text: `signal test ${i}`, category: 'notification', ...over }, token);

t.test('SIGHUP: a bad file is refused and logged, the old config kept; a good one swaps tokens without dropping binds', async (t) => {
  const dir = tempDir(t);
  const [httpPort, simPort] = [await freePort(), await freePort()];
  const cfg = daemonConfig(dir, httpPort, simPort) as Record<string, any>;
  const path = writeYaml(dir, 'xinge.yaml', cfg);
  const d = startDaemon(path);
  t.teardown(() => d.kill());
  await waitReady(d, httpPort);
  t.equal((await sms(httpPort, 1)).status, 202);
  const bound = () => d.records().filter((r) => r.msg === 'smpp bound').length;
  t.equal(bound(), 1, 'one bind up');

  // 1. A file with schema errors.
  const bad = structuredClone(cfg);
  bad.carriers[0].window = 0;
  bad.clients[0].colour = 'red';
  bad.clients[0].token = 'would-be-new-token-1';
  writeFileSync(path, stringify(bad));
  d.child.kill('SIGHUP');
  const refused = await d.waitForRecord((r) => r.msg === 'config reload refused: keeping the old config', 10000, 'reload refused');
  t.equal(refused.level, 50, 'logged at error');
  const errors = refused.errors as string[];
  t.ok(errors.includes('carriers[0].window: expected integer 1..10000'), errors.join('\n'));
  t.ok(errors.includes('clients[0].colour: unknown key'), errors.join('\n'));
  t.equal((await sms(httpPort, 2)).status, 202, 'old token still works');
  t.equal((await sms(httpPort, 3, 'would-be-new-token-1')).status, 401, 'nothing of the bad file applied');

  // 2. A file naming an unset environment variable: refused, naming it.
  const unset = structuredClone(cfg);
  unset.clients[0].token = '${XINGE_TEST_UNSET_TOKEN}';
  writeFileSync(path, stringify(unset));
  d.child.kill('SIGHUP');
  const refused2 = await d.waitForRecord(
    (r) => r.msg === 'config reload refused: keeping the old config' && JSON.stringify(r.errors).includes('XINGE_TEST_UNSET_TOKEN'),
    10000,
    'second refusal',
  );
  t.match((refused2.errors as string[])[0], /^clients\[0\]\.token: environment variable XINGE_TEST_UNSET_TOKEN is not set$/);
  t.equal((await sms(httpPort, 4)).status, 202);

  // 3. A good file: the token rotates, the bind stays.
  const good = structuredClone(cfg);
  good.clients[0].token = 'rotated-child-token-2';
  good.policy.forbidden_words = ['上门曝光'];
  writeFileSync(path, stringify(good));
  d.child.kill('SIGHUP');
  const applied = await d.waitForRecord((r) => r.msg === 'config reloaded', 10000, 'config reloaded');
  t.ok((applied.applied as string[]).includes('clients'));
  const old = await sms(httpPort, 5);
  t.equal(old.status, 401, 'old token refused after the reload');
  t.equal(old.json.error.code, 'unauthorized');
  t.equal((await sms(httpPort, 6, 'rotated-child-token-2')).status, 202, 'new token accepted');
  t.equal((await sms(httpPort, 7, 'rotated-child-token-2', { text: '再不还就上门曝光' })).status, 422, 'new policy in force');
  t.equal(bound(), 1, 'no bind dropped or redone');
  t.notOk(d.records().some((r) => r.msg === 'smpp session closed'), 'no session closed');
  t.equal(d.child.exitCode, null, 'still running');

  d.child.kill('SIGTERM');
  t.equal((await d.exited).code, 0);
});

async function countRows(path: string): Promise<{ byStatus: Record<string, number>; segs: Record<string, number>; integrity: string; ids: Set<string> }> {
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    const byStatus: Record<string, number> = {};
    for (const r of db.prepare('SELECT status, count(*) AS n FROM messages GROUP BY status').all() as Array<{ status: string; n: number }>) byStatus[r.status] = r.n;
    const segs: Record<string, number> = {};
    for (const r of db.prepare('SELECT status, count(*) AS n FROM segments GROUP BY status').all() as Array<{ status: string; n: number }>) segs[r.status] = r.n;
    const integrity = db.pragma('integrity_check', { simple: true }) as string;
    const ids = new Set((db.prepare('SELECT id FROM messages').all() as Array<{ id: string }>).map((r) => r.id));
    return { byStatus, segs, integrity, ids };
  } finally {
    db.close();
  }
}

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  t.test(`${signal}: intake stops, in-flight work finishes, store closed consistent, exit 0`, async (t) => {
    const dir = tempDir(t);
    const [httpPort, simPort] = [await freePort(), await freePort()];
    const cfg = daemonConfig(dir, httpPort, simPort) as Record<string, any>;
    cfg.carriers[0].tps = 200; // a backlog: some work queued, some on the wire when the signal comes
    cfg.carriers[0].burst = 20;
    const d = startDaemon(writeYaml(dir, 'xinge.yaml', cfg));
    t.teardown(() => d.kill());
    await waitReady(d, httpPort);
    const accepted: string[] = [];
    const sendBatch = async (k: number) => {
      const r = await http(httpPort, 'POST', '/v1/sms/batch', {
        messages: Array.from({ length: 100 }, (_, i) => ({ to: `139${String(k * 100 + i).padStart(8, '0')}`, text: `batch ${k} ${i}`, category: 'notification' })),
      });
      t.equal(r.status, 202);
      for (const x of r.json.results as Array<{ id?: string }>) if (x.id) accepted.push(x.id);
    };
    await Promise.all([0, 1, 2].map(sendBatch));
    await waitFor(() => d.records().some((r) => r.msg === 'smpp bound'), 5000, 'bound');
    d.child.kill(signal);
    // Keep offering work while it drains: each answer is a 202 (accepted before the signal
    // was handled, so it must be in the store), a 503 draining, or a refused connection.
    const late: string[] = [];
    let saw503 = false;
    let closed = false;
    for (let i = 0; i < 200 && !closed; i++) {
      try {
        const r = await sms(httpPort, 5000 + i);
        if (r.status === 202) late.push(r.json.id);
        else {
          t.equal(r.status, 503, `during the drain: ${r.text}`);
          if (r.status === 503) {
            saw503 = true;
            t.equal(r.json.error.code, 'draining');
          }
        }
      } catch {
        closed = true;
      }
    }
    const exit = await d.exited;
    t.equal(exit.code, 0, `exit 0 (${JSON.stringify(exit)}) ${d.stderr().slice(-1000)} ${JSON.stringify(d.records().filter((r) => (r.level as number) >= 50)).slice(0, 1000)}`);
    t.ok(saw503 || closed, 'intake refused after the signal');
    const draining = d.records().find((r) => r.msg === 'draining');
    t.equal(draining?.signal, signal, 'drain logged with the signal');
    t.ok(d.records().some((r) => r.msg === 'stopped'), 'stopped logged');
    t.ok(d.records().some((r) => r.msg === 'smpp session closed' && r.reason === 'unbound'), 'sessions unbound');

    const dbPath = cfg.store.path as string;
    const wal = `${dbPath}-wal`;
    t.ok(!existsSync(wal) || statSync(wal).size === 0, 'WAL checkpointed at close');
    const rows = await countRows(dbPath);
    t.comment(`after ${signal}: messages ${JSON.stringify(rows.byStatus)}, segments ${JSON.stringify(rows.segs)}, late 202s ${late.length}, saw 503 ${saw503}, connection refused ${closed}`);
    t.equal(rows.integrity, 'ok');
    for (const id of [...accepted, ...late]) if (!rows.ids.has(id)) t.fail(`accepted ${id} missing`);
    t.equal(rows.ids.size, accepted.length + late.length, 'exactly the accepted messages');
    t.equal(rows.segs.submitting ?? 0, 0, 'no segment left on the wire: in-flight resps awaited');
    t.equal(rows.byStatus.submitting ?? 0, 0);
    t.ok((rows.byStatus.submitted ?? 0) + (rows.byStatus.delivered ?? 0) > 0, `some went out: ${JSON.stringify(rows.byStatus)}`);
  });
}
