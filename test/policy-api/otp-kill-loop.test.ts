/**
 * kill -9 in a loop while verification codes are asked for (SPEC 4 and 13): clients post
 * POST /v1/otp as fast as the daemon answers, the SMSC simulator runs in a process of its own
 * and keeps what the phones received, and the daemon is killed with SIGKILL at a random
 * moment, four times. After each kill every code answered 202 is a committed row. After a last
 * start every one of them is on its phone, every copy of it (a send cut by a kill goes again)
 * carries the same code, and that code verifies once.
 */
import t from 'tap';
import Database from 'better-sqlite3';
import { tempDir } from '../helpers/fixtures.js';
import { startSimProcess } from '../helpers/sim-process.js';
import { killCycles, startReady } from '../helpers/kill-under-load.js';
import { daemonConfig, freePort, http } from '../foundation/fixtures/daemon.js';

const CYCLES = 4;
const CLIENTS = 8;

t.setTimeout(360_000); // four starts of a daemon under tsx, then every code is read and verified

t.test(`kill -9 at random moments while codes are asked for, ${CYCLES} times: every 202 reaches its phone and verifies once`, async (t) => {
  const dir = tempDir(t);
  const [simPort, simWeb] = [await freePort(), await freePort()];
  await startSimProcess(t, ['--port', String(simPort), '--http-port', String(simWeb)], simPort);
  const storePath = `${dir}/xinge.db`;
  const start = async (name: string) => {
    const httpPort = await freePort();
    const cfg = daemonConfig(dir, httpPort, simPort, { simulator: { enabled: false } }) as Record<string, any>;
    cfg.store = { path: storePath };
    const d = await startReady(t, dir, name, cfg, httpPort);
    return { d, httpPort };
  };

  const acked = new Map<string, string>(); // OTP id → number
  let n = 0;
  await killCycles(t, {
    cycles: CYCLES, clients: CLIENTS, what: 'codes', acked, start,
    send: async (httpPort) => {
      const to = `135${String(n++).padStart(8, '0')}`;
      const r = await http(httpPort, 'POST', '/v1/otp', { to, purpose: 'login' });
      if (r.status === 202) acked.set(r.json.id as string, to);
    },
    afterKill: (cycle) => {
      const db = new Database(storePath, { readonly: true, fileMustExist: true });
      const ids = new Set(db.prepare('SELECT id FROM otps').pluck().all() as string[]);
      db.close();
      const missing = [...acked.keys()].filter((id) => !ids.has(id));
      t.same(missing.slice(0, 5), [], `cycle ${cycle}: all ${acked.size} codes answered 202 so far are committed rows`);
    },
  });

  const { d, httpPort } = await start('last');
  const onPhone = async (to: string): Promise<string[]> => {
    const r = await fetch(`http://127.0.0.1:${simWeb}/sim/messages?to=${to}`);
    const body = (await r.json()) as { messages: Array<{ text: string }> };
    return body.messages.map((m) => /(\d{6})/.exec(m.text)?.[1] ?? '?');
  };
  const codes = new Map<string, string[]>();
  const deadline = Date.now() + 120_000;
  for (const [id, to] of acked) {
    let got: string[] = [];
    while ((got = await onPhone(to)).length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    codes.set(id, got);
  }
  const absent = [...acked.keys()].filter((id) => codes.get(id)!.length === 0);
  t.same(absent.slice(0, 5), [], `every one of the ${acked.size} codes answered 202 is on its phone (${absent.length} not)`);
  const differing = [...codes].filter(([, c]) => new Set(c).size > 1).map(([id, c]) => `${id}: ${c.join(' ')}`);
  t.same(differing.slice(0, 5), [], 'a code sent twice is the same code');
  const copies = [...codes.values()].reduce((s, c) => s + c.length, 0);
  t.comment(`${acked.size} codes, ${copies} messages on the phones (${copies - acked.size} sent again after a kill)`);

  let valid = 0;
  const refused: string[] = [];
  for (const [id, c] of codes) {
    if (c.length === 0) continue;
    const r = await http(httpPort, 'POST', '/v1/otp/verify', { id, code: c[0] });
    if (r.json?.valid === true) valid++;
    else refused.push(`${id}: ${JSON.stringify(r.json)}`);
  }
  t.same(refused.slice(0, 5), [], `the code on the phone verifies: ${valid} of ${acked.size}`);
  const [firstId, firstCodes] = [...codes][0]!;
  t.same((await http(httpPort, 'POST', '/v1/otp/verify', { id: firstId, code: firstCodes[0] })).json, { valid: false, reason: 'used' }, 'and only once');
  d.child.kill('SIGTERM');
  await d.exited;
});
