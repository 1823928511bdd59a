/**
 * kill -9 in a loop under SMPP server load (SPEC 8 and 13): downstream ESMEs submit over SMPP
 * and ask for receipts, the daemon sends to an SMSC simulator in a process of its own (it
 * outlives every kill and resends receipts never answered, as carriers do), and the daemon is
 * killed with SIGKILL at a random moment, four times. After each kill every submit answered
 * ESME_ROK is a committed row. After a last start, every one of them reaches the ESME as a
 * DELIVRD receipt (at least once): a receipt the daemon took from the carrier is owed to the
 * ESME durably, and one it never answered comes again from the carrier.
 */
import t from 'tap';
import Database from 'better-sqlite3';
import { encodeUcs2 } from '../../src/encoding/index.js';
import type { SmppSession } from '../../src/carriers/smpp/session.js';
import { tempDir } from '../helpers/fixtures.js';
import { startSimProcess } from '../helpers/sim-process.js';
import { startReady } from '../helpers/kill-under-load.js';
import { daemonConfig, freePort } from '../foundation/fixtures/daemon.js';
import { esme, PASSWORD, SIG, sm } from './helpers.js';

const CYCLES = 4;
const SESSIONS = 3;
const IN_FLIGHT = 8; // per session, under the account's window of 10

t.setTimeout(360_000); // four starts of a daemon under tsx, then the backlog drains at the carrier's tps

t.test(`kill -9 at random moments under SMPP load, ${CYCLES} times: every ESME_ROK is stored and its receipt reaches the ESME`, async (t) => {
  const dir = tempDir(t);
  const simPort = await freePort();
  await startSimProcess(t, ['--port', String(simPort), '--receipt-delay-ms', '50', '--receipt-retry-ms', '200'], simPort);

  const storePath = `${dir}/xinge.db`;
  const acked = new Set<string>();
  const receipts = new Map<string, string[]>(); // receipted_message_id → stat of each copy
  const collect = (s: SmppSession): void => {
    s.on('deliver', (pdu, ack) => {
      const id = pdu.tlvs['receipted_message_id'];
      if (typeof id === 'string') {
        const stat = /stat:(\w+)/.exec((pdu.fields['short_message'] as Buffer).toString('latin1'))?.[1] ?? '?';
        receipts.set(id, [...(receipts.get(id) ?? []), stat]);
      }
      ack(0);
    });
  };
  const start = async (name: string) => {
    const [httpPort, serverPort] = [await freePort(), await freePort()];
    const cfg = daemonConfig(dir, httpPort, simPort, { simulator: { enabled: false } }) as Record<string, any>;
    cfg.store = { path: storePath };
    cfg.carriers[0].tps = 400; // slower than the ESMEs: at the kill there is queued work and work on the wire
    cfg.smpp_server = {
      host: '127.0.0.1',
      port: serverPort,
      response_timeout_s: 2,
      accounts: [{ system_id: 'legacy', password: PASSWORD, free_text: true, tps: 5000, window: 10, max_binds: SESSIONS + 1 }],
    };
    const d = await startReady(t, dir, name, cfg, httpPort);
    return { d, serverPort };
  };

  let n = 0;
  for (let cycle = 1; cycle <= CYCLES; cycle++) {
    const { d, serverPort } = await start(`cycle-${cycle}`);
    const sessions = Array.from({ length: SESSIONS }, () => esme(serverPort, 'transceiver', { window: 10 }));
    for (const s of sessions) {
      collect(s);
      await s.connect();
    }
    let stop = false;
    let cut = 0;
    const before = acked.size;
    const loops = sessions.flatMap((s) =>
      Array.from({ length: IN_FLIGHT }, async () => {
        while (!stop) {
          const i = n++;
          const o = await s.submit(sm(`138${String(i).padStart(8, '0')}`, encodeUcs2(`${SIG}还款提醒 ${i}`)));
          if (o.kind === 'accepted') acked.add(o.carrierMessageId);
          else if (o.kind === 'disconnected') {
            cut++; // never answered: not accepted
            return;
          } else cut++;
        }
      }),
    );
    await new Promise((r) => setTimeout(r, 400 + Math.floor(Math.random() * 1200)));
    d.child.kill('SIGKILL');
    const exit = await d.exited;
    stop = true;
    await Promise.all(loops);
    for (const s of sessions) s.close();
    t.equal(exit.signal, 'SIGKILL', `cycle ${cycle}: killed`);
    t.ok(acked.size > before, `cycle ${cycle}: ${acked.size - before} submits answered ESME_ROK before the kill, ${cut} cut by it`);

    const db = new Database(storePath, { readonly: true, fileMustExist: true });
    const ids = new Set(db.prepare('SELECT id FROM messages').pluck().all() as string[]);
    db.close();
    const missing = [...acked].filter((id) => !ids.has(id));
    t.same(missing.slice(0, 5), [], `cycle ${cycle}: all ${acked.size} submits answered ESME_ROK so far are committed rows`);
  }

  // A last start, an ESME bound to take what is owed: every accepted submit's receipt arrives.
  const { d, serverPort } = await start('last');
  const rx = esme(serverPort, 'receiver');
  collect(rx);
  await rx.connect();
  t.teardown(() => rx.close());
  const waiting = () => [...acked].filter((id) => !receipts.get(id)?.includes('DELIVRD'));
  const deadline = Date.now() + 180_000;
  while (waiting().length > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 250));
  const left = waiting();
  t.same(left.slice(0, 5), [], `every one of the ${acked.size} accepted submits reached the ESME as a DELIVRD receipt (${left.length} not)`);
  const copies = [...acked].reduce((s, id) => s + (receipts.get(id)?.length ?? 0), 0);
  t.comment(`${acked.size} accepted, ${copies} receipts received (at least once: ${copies - acked.size} repeats)`);
  rx.close();
  d.child.kill('SIGTERM');
  await d.exited;
  const db = new Database(storePath, { readonly: true, fileMustExist: true });
  t.equal(db.pragma('integrity_check', { simple: true }), 'ok', 'SQLite integrity check');
  const notFinal = db.prepare(`SELECT count(*) FROM messages WHERE final_at IS NULL`).pluck().get() as number;
  db.close();
  t.equal(notFinal, 0, 'every stored message reached a final state');
});
