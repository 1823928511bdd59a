/**
 * kill -9 in a loop while intake is busy (SPEC 13: a crash at any point loses no accepted
 * message). Four times: the daemon starts on the same store file, 16 clients post single
 * messages and batches as fast as it answers, and it is killed with SIGKILL at a random
 * moment with requests in flight. After each kill, every message answered 202 is a committed
 * row; at the end the store passes SQLite's integrity check and a last start sends every
 * acknowledged message that was due (at-least-once: some twice).
 */
import t from 'tap';
import Database from 'better-sqlite3';
import { tempDir } from '../helpers/fixtures.js';
import { daemonConfig, freePort, http, startDaemon, waitReady, writeYaml } from './fixtures/daemon.js';

const CYCLES = 4;
const CLIENTS = 16;

t.test(`kill -9 at random moments under load, ${CYCLES} times: every 202 survives, the store stays sound`, async (t) => {
  const dir = tempDir(t);
  const acked = new Set<string>();
  let storeCfg: unknown;
  let n = 0;
  for (let cycle = 1; cycle <= CYCLES; cycle++) {
    const [httpPort, simPort] = [await freePort(), await freePort()];
    const cfg = daemonConfig(dir, httpPort, simPort) as Record<string, any>;
    if (storeCfg === undefined) storeCfg = cfg.store;
    cfg.store = storeCfg;
    cfg.carriers[0].tps = 300; // slower than intake: at the kill there is queued work and work on the wire
    const d = startDaemon(writeYaml(dir, `cycle-${cycle}.yaml`, cfg));
    t.teardown(() => d.kill());
    await waitReady(d, httpPort);

    let stop = false;
    let refusedByKill = 0;
    const clients = Array.from({ length: CLIENTS }, async (_, c) => {
      while (!stop) {
        const i = n++;
        try {
          if (c % 4 === 0) {
            const messages = Array.from({ length: 20 }, (_, j) => ({ to: `139${String(i * 20 + j).padStart(8, '0').slice(-8)}`, text: `批量 ${i}-${j}`, category: 'marketing' }));
            const r = await http(httpPort, 'POST', '/v1/sms/batch', { messages });
            if (r.status === 202) for (const x of r.json.results as Array<{ id?: string }>) if (x.id !== undefined) acked.add(x.id);
          } else {
            const r = await http(httpPort, 'POST', '/v1/sms', { to: `138${String(i).padStart(8, '0').slice(-8)}`, text: `还款提醒 ${i}`, category: 'notification', reference: `kill-${cycle}-${i}` });
            if (r.status === 202) acked.add(r.json.id as string);
          }
        } catch {
          refusedByKill++; // the connection died with the daemon: never answered, so not accepted
        }
      }
    });
    const before = acked.size;
    await new Promise((r) => setTimeout(r, 300 + Math.floor(Math.random() * 900)));
    d.child.kill('SIGKILL');
    const exit = await d.exited;
    stop = true;
    await Promise.all(clients);
    t.equal(exit.signal, 'SIGKILL', `cycle ${cycle}: killed`);
    t.ok(acked.size > before, `cycle ${cycle}: ${acked.size - before} accepted before the kill, ${refusedByKill} requests cut by it`);

    const db = new Database((storeCfg as { path: string }).path, { readonly: true, fileMustExist: true });
    const ids = new Set((db.prepare('SELECT id FROM messages').pluck().all() as string[]));
    db.close();
    const missing = [...acked].filter((id) => !ids.has(id));
    t.same(missing.slice(0, 5), [], `cycle ${cycle}: all ${acked.size} messages answered 202 so far are committed rows`);
  }

  // A last start: the acknowledged messages go out.
  const [httpPort, simPort] = [await freePort(), await freePort()];
  const cfg = daemonConfig(dir, httpPort, simPort) as Record<string, any>;
  cfg.store = storeCfg;
  const d = startDaemon(writeYaml(dir, 'last.yaml', cfg));
  t.teardown(() => d.kill());
  await waitReady(d, httpPort);
  const path = (storeCfg as { path: string }).path;
  const left = () => {
    const db = new Database(path, { readonly: true, fileMustExist: true });
    try {
      return db.prepare(`SELECT count(*) FROM segments WHERE status IN ('queued', 'submitting')`).pluck().get() as number;
    } finally {
      db.close();
    }
  };
  const deadline = Date.now() + 120000;
  while (left() > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 250));
  t.equal(left(), 0, 'every acknowledged message was sent after the last start');
  d.child.kill('SIGTERM');
  await d.exited;
  const db = new Database(path, { readonly: true, fileMustExist: true });
  t.equal(db.pragma('integrity_check', { simple: true }), 'ok', 'SQLite integrity check');
  const unsent = db.prepare(`SELECT count(*) FROM messages WHERE status IN ('queued', 'submitting', 'scheduled')`).pluck().get() as number;
  db.close();
  t.equal(unsent, 0, `none of the ${acked.size} acknowledged messages was left behind`);
});
