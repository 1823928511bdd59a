/**
 * kill -9 in a loop while MMS come in (SPEC 12 and 13): clients post MMS as fast as the daemon
 * answers, an MMSC simulator in a process of its own takes them and reports each delivery to
 * the daemon's MM7 receiver (posting a report again when the receiver is down, as MMSCs do),
 * and the daemon is killed with SIGKILL at a random moment, four times. After each kill every
 * MMS answered 202 is a committed row with its parts. After a last start every one of them
 * ends `delivered`: what was queued is sent, what was on the wire is sent again, and a
 * report that came while the daemon was down arrives on a retry.
 */
import t from 'tap';
import Database from 'better-sqlite3';
import { tempDir } from '../helpers/fixtures.js';
import { startSimProcess } from '../helpers/sim-process.js';
import { killCycles, startReady } from '../helpers/kill-under-load.js';
import { daemonConfig, freePort, http, type Daemon } from '../foundation/fixtures/daemon.js';

const CYCLES = 4;
const CLIENTS = 8;

t.setTimeout(360_000); // four starts of a daemon under tsx, then what is left goes out

t.test(`kill -9 at random moments while MMS come in, ${CYCLES} times: every 202 is stored and ends delivered`, async (t) => {
  const dir = tempDir(t);
  const [smscPort, mmscPort, receiverPort] = [await freePort(), await freePort(), await freePort()];
  // Reports are posted again for 10 s: longer than a daemon's start under tsx on a busy host.
  const mmscArgs = ['--mmsc-port', String(mmscPort), '--mmsc-username', 'vasp', '--mmsc-password', 'secret', '--mmsc-report-delay-ms', '50', '--mmsc-report-retry-ms', '1000'];
  const reportTo = ['--mmsc-report-url', `http://127.0.0.1:${receiverPort}/mm7/receiver`, '--mmsc-report-username', 'mmsc', '--mmsc-report-password', 'secret'];
  await startSimProcess(t, ['--port', String(smscPort), ...mmscArgs, ...reportTo], mmscPort);

  const storePath = `${dir}/xinge.db`;
  const daemons: Daemon[] = [];
  const start = async (name: string) => {
    const httpPort = await freePort();
    const cfg = daemonConfig(dir, httpPort, smscPort, { simulator: { enabled: false } }) as Record<string, any>;
    cfg.store = { path: storePath };
    cfg.clients[0].scopes = [...cfg.clients[0].scopes, 'mms'];
    cfg.mm7 = {
      mmscs: [{ id: 'mmsc', url: `http://127.0.0.1:${mmscPort}/mm7`, username: 'vasp', password: 'secret', vaspid: 'xinge', vasid: 'loans', sender: '10690000' }],
      // The same port every start: the MMSC knows one receiver URL.
      receiver: { host: '127.0.0.1', port: receiverPort, path: '/mm7/receiver', username: 'mmsc', password: 'secret' },
    };
    const d = await startReady(t, dir, name, cfg, httpPort);
    daemons.push(d);
    return { d, httpPort };
  };

  const acked = new Set<string>();
  let n = 0;
  await killCycles(t, {
    cycles: CYCLES, clients: CLIENTS, what: 'MMS', acked, start,
    send: async (httpPort) => {
      const i = n++;
      const r = await http(httpPort, 'POST', '/v1/mms', {
        to: `139${String(i).padStart(8, '0')}`,
        category: 'notification',
        subject: `账单 ${i}`,
        parts: [
          { content_type: 'text/plain', text: `您本期应还 ${i} 元` },
          { content_type: 'image/png', content_base64: Buffer.from(`png-${i}`).toString('base64'), filename: `bill-${i}.png` },
        ],
      });
      if (r.status === 202) acked.add(r.json.id as string);
    },
    afterKill: (cycle) => {
      const db = new Database(storePath, { readonly: true, fileMustExist: true });
      const ids = new Set(db.prepare('SELECT id FROM mms_messages').pluck().all() as string[]);
      // A row whose parts were already dropped has ended; one still owed must have both.
      const partless = db.prepare(`SELECT count(*) FROM mms_messages m WHERE status IN ('queued', 'submitting')
        AND (SELECT count(*) FROM mms_parts p WHERE p.message_id = m.id) <> 2`).pluck().get() as number;
      db.close();
      const missing = [...acked].filter((id) => !ids.has(id));
      t.same(missing.slice(0, 5), [], `cycle ${cycle}: all ${acked.size} MMS answered 202 so far are committed rows`);
      t.equal(partless, 0, `cycle ${cycle}: every MMS still to be sent has its parts`);
    },
  });

  const { d } = await start('last');
  const status = () => {
    const db = new Database(storePath, { readonly: true, fileMustExist: true });
    try {
      return new Map(db.prepare('SELECT id, status FROM mms_messages').raw().all() as Array<[string, string]>);
    } finally {
      db.close();
    }
  };
  const notDelivered = () => {
    const s = status();
    return [...acked].filter((id) => s.get(id) !== 'delivered');
  };
  const deadline = Date.now() + 180_000;
  while (notDelivered().length > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 250));
  const left = notDelivered();
  const s = status();
  if (left.length > 0) {
    const db = new Database(storePath, { readonly: true, fileMustExist: true });
    const stuck = db.prepare(`SELECT id, mm7_message_id, submitted_at FROM mms_messages WHERE id IN (SELECT value FROM json_each(?))`).all(JSON.stringify(left));
    db.close();
    const unmatched = daemons.flatMap((x, i) => x.records().filter((r) => /matches no MMS/.test(String(r.msg))).map((r) => `${i}:${String(r.mm7MessageId)}@${String(r.time)}`));
    t.comment(JSON.stringify({ stuck, unmatched }));
  }
  t.same(left.slice(0, 5).map((id) => `${id} ${s.get(id)}`), [], `every one of the ${acked.size} MMS answered 202 ends delivered (${left.length} not)`);
  d.child.kill('SIGTERM');
  await d.exited;
  const db = new Database(storePath, { readonly: true, fileMustExist: true });
  t.equal(db.pragma('integrity_check', { simple: true }), 'ok', 'SQLite integrity check');
  db.close();
});
