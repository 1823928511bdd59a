/**
 * Issue 21.6, with real processes: three daemons (src/cli.ts, store.driver postgres) on one
 * PostgreSQL and one simulator process whose account allows 3 binds at `tps` submits a
 * second. A burst of 20,000 goes in through the three daemons' HTTP APIs with an OTP in the
 * middle; one daemon is killed with SIGKILL while the queue drains. Asserted: every accepted
 * message ends submitted or delivered (nothing lost), the killed node's bind slot is bound
 * again by a survivor within lease TTL + backoff, the simulator never sees more than 3 binds
 * nor more than tps + 10 % submits in any second, and the OTP reaches the simulator ahead of
 * the backlog.
 */
import t from 'tap';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { startTestPostgres } from '../helpers/postgres.js';
import { tempDir } from '../helpers/fixtures.js';
import { REPO, daemonConfig, freePort, http, startDaemon, waitReady, writeYaml, type Daemon } from '../foundation/fixtures/daemon.js';

t.setTimeout(400_000);

const TOTAL = 20_000;
const BATCH = 1000;
const TPS = 400;
const BINDS = 3;
const TTL = 3000;

interface SimProc {
  port: number;
  httpPort: number;
  stop(): void;
}

async function startSimProcess(): Promise<SimProc> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(REPO, 'src/sim/sim-process.ts'), JSON.stringify({ port: 0, httpPort: 0, recordLimit: 30000, receiptDelayMs: 20 })], {
    cwd: REPO,
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const line = await new Promise<string>((resolve, reject) => {
    let buf = '';
    child.stdout!.on('data', (b: Buffer) => {
      buf += b.toString();
      const i = buf.indexOf('\n');
      if (i >= 0) resolve(buf.slice(0, i));
    });
    child.once('exit', () => reject(new Error('simulator exited')));
  });
  const { port, httpPort } = JSON.parse(line) as { port: number; httpPort: number };
  return { port, httpPort, stop: () => child.kill('SIGTERM') };
}

interface AccountStats {
  systemId: string;
  binds: number;
  maxBinds: number;
  submits: number;
  maxSubmitsPerSecond: number;
}
async function account(sim: SimProc): Promise<AccountStats> {
  const r = await fetch(`http://127.0.0.1:${sim.httpPort}/sim/accounts?system_id=xinge`);
  return ((await r.json()) as { accounts: AccountStats[] }).accounts[0]!;
}

const pg = await startTestPostgres(t);
if (pg !== undefined) {
  t.test('three daemons, one PostgreSQL: 20,000 with an OTP in the middle, one daemon killed mid-drain', async (t) => {
    const sim = await startSimProcess();
    t.teardown(() => sim.stop());
    const dir = tempDir(t);
    const daemons: Daemon[] = [];
    const ports: number[] = [];
    for (let i = 1; i <= 3; i++) {
      const port = await freePort();
      const cfg = daemonConfig(join(dir), port, sim.port) as Record<string, any>;
      cfg.simulator = { enabled: false };
      cfg.log = { level: 'info' };
      cfg.store = { driver: 'postgres', url: pg.url, path: join(dir, `unused-${i}.db`) };
      cfg.cluster = { node_id: `gw-${i}`, node_ttl_ms: TTL, bind_lease_ttl_ms: TTL };
      Object.assign(cfg.carriers[0], { binds: BINDS, tps: TPS, window: 100, response_timeout_s: 5, reconnect: { initial_ms: 50, max_ms: 500 } });
      const d = startDaemon(writeYaml(dir, `gw-${i}.yaml`, cfg));
      t.teardown(() => d.kill());
      daemons.push(d);
      ports.push(port);
    }
    for (let i = 0; i < 3; i++) await waitReady(daemons[i]!, ports[i]!);
    // Every node bound one slot of the account's three.
    const deadline = Date.now() + 30_000;
    while ((await account(sim)).binds < BINDS && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    t.equal((await account(sim)).binds, BINDS, 'three binds open, one per node');

    // The burst: batches round-robin over the three daemons; the OTP goes in after half.
    const accepted: string[] = [];
    let otpId = '';
    let otpAcceptedAt = 0;
    const OTP_TO = '13900000001';
    for (let b = 0; b < TOTAL / BATCH; b++) {
      const port = ports[b % 3]!;
      const messages = Array.from({ length: BATCH }, (_, i) => ({ to: `138${String(b * BATCH + i).padStart(8, '0')}`, text: `还款提醒 ${b}-${i}`, category: 'notification' }));
      const r = await http(port, 'POST', '/v1/sms/batch', { messages });
      t.equal(r.status, 202, `batch ${b}: ${r.text.slice(0, 200)}`);
      for (const m of r.json.results as Array<{ id?: string; status: string }>) if (m.id !== undefined) accepted.push(m.id);
      if (b === TOTAL / BATCH / 2) {
        otpAcceptedAt = Date.now();
        const o = await http(ports[2]!, 'POST', '/v1/otp', { to: OTP_TO, purpose: 'login' });
        t.equal(o.status, 202, o.text);
        otpId = o.json.id as string;
      }
    }
    t.equal(accepted.length, TOTAL, 'every message of the burst accepted');

    // Kill gw-2 while the queue drains (a third or so sent).
    while ((await account(sim)).submits < TOTAL / 3) await new Promise((r) => setTimeout(r, 50));
    const killedAt = Date.now();
    daemons[1]!.child.kill('SIGKILL');
    await daemons[1]!.exited;
    // Its slot: closed with the process, bound again by a survivor once its lease expires.
    while ((await account(sim)).binds >= BINDS) await new Promise((r) => setTimeout(r, 20));
    let reboundAt = 0;
    while (Date.now() - killedAt < TTL + 15_000) {
      if ((await account(sim)).binds === BINDS) {
        reboundAt = Date.now();
        break;
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    t.ok(reboundAt > 0, 'the killed node\'s slot is bound again');
    t.comment(`slot re-bound ${reboundAt - killedAt} ms after the kill (lease TTL ${TTL} ms)`);
    t.ok(reboundAt - killedAt <= TTL + 3000, `within lease TTL + backoff (${reboundAt - killedAt} ms)`);

    // Nothing accepted is lost: all end submitted or delivered, read from the shared store.
    const drainDeadline = Date.now() + 240_000;
    let open = -1;
    while (Date.now() < drainDeadline) {
      const r = await pg.query<{ n: string }>(`SELECT count(*) AS n FROM messages WHERE status NOT IN ('submitted', 'delivered')`);
      open = Number(r.rows[0]!.n);
      if (open === 0) break;
      await new Promise((r) => setTimeout(r, 500));
    }
    t.equal(open, 0, 'no message left unsent');
    const all = await pg.query<{ n: string }>(`SELECT count(*) AS n FROM messages`);
    t.equal(Number(all.rows[0]!.n), TOTAL + 1, 'every accepted message (and the OTP) is in the store');
    const ok = await pg.query<{ n: string }>(`SELECT count(*) AS n FROM messages WHERE id = ANY($1::text[]) AND status IN ('submitted', 'delivered')`, [accepted]);
    t.equal(Number(ok.rows[0]!.n), TOTAL, 'each accepted id reached the carrier');

    const stats = await account(sim);
    t.comment(`simulator: ${stats.submits} submit_sm for ${TOTAL + 1} messages (resent after the kill: ${stats.submits - TOTAL - 1}), most in one second ${stats.maxSubmitsPerSecond}, most binds ${stats.maxBinds}`);
    t.ok(stats.submits >= TOTAL + 1, 'at least once');
    t.ok(stats.maxBinds <= BINDS, `never more than ${BINDS} binds (saw ${stats.maxBinds})`);
    t.ok(stats.maxSubmitsPerSecond <= TPS * 1.1, `never above tps + 10 % in any second (${stats.maxSubmitsPerSecond} for tps ${TPS})`);

    // The OTP went ahead of the backlog: it reached the simulator long before the burst drained.
    const otp = await pg.query<{ message_id: string }>(`SELECT message_id FROM otps WHERE id = $1`, [otpId]);
    const inbox = await fetch(`http://127.0.0.1:${sim.httpPort}/sim/messages?to=${OTP_TO}`);
    const got = ((await inbox.json()) as { messages: Array<{ received_at: string }> }).messages;
    t.ok(got.length >= 1 && otp.rows.length === 1, 'the OTP reached the simulator');
    const otpMs = Date.parse(got[0]!.received_at) - otpAcceptedAt;
    const backlogAtOtp = TOTAL / 2 / TPS; // seconds of backlog queued ahead of it at tps
    t.comment(`OTP: accept → received at the simulator ${otpMs} ms, with about ${backlogAtOtp.toFixed(0)} s of bulk queued ahead of it`);
    t.ok(otpMs < 2000, `the OTP did not wait behind the backlog (${otpMs} ms)`);

    for (const d of [daemons[0]!, daemons[2]!]) d.child.kill('SIGTERM');
    for (const d of [daemons[0]!, daemons[2]!]) await d.exited;
  });
}
