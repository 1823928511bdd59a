/**
 * Side by side with Kannel (issue 7): Debian's kannel (bearerbox + smsbox, store-type file,
 * boxes at log level 4) against the same simulator, sendsms over HTTP at concurrency 16,
 * counted as submit_sm acknowledged per second (bearerbox's "sent" counter). Skips with a
 * clear message where Kannel is not installed.
 */
import { spawn, type ChildProcess, execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import autocannon from 'autocannon';
import { freePort, startSim, stopChild } from './lib/procs.js';

export function kannelInstalled(): string | undefined {
  for (const bin of ['/usr/sbin/bearerbox', '/usr/bin/bearerbox']) {
    try {
      execFileSync(bin, ['--version'], { stdio: 'pipe' });
      return path.dirname(bin);
    } catch (err) {
      // bearerbox --version exits non-zero after printing; existence is what matters.
      if ((err as { code?: string }).code !== 'ENOENT') return path.dirname(bin);
    }
  }
  return undefined;
}

async function sentCount(adminPort: number): Promise<number> {
  const r = await fetch(`http://127.0.0.1:${adminPort}/status.txt?password=bench`);
  const text = await r.text();
  const m = /SMS:.*?sent (\d+)/s.exec(text);
  return m === null ? 0 : Number(m[1]);
}

export async function benchKannel(quick: boolean): Promise<Record<string, number | string>> {
  const dir = kannelInstalled();
  if (dir === undefined) return { kannel: 'skipped: kannel is not installed (apt-get install kannel)' };
  const sim = await startSim({ receipts: 'none' });
  const work = mkdtempSync(path.join(tmpdir(), 'xinge-kannel-'));
  mkdirSync(path.join(work, 'store'));
  const [adminPort, boxPort, sendPort] = [await freePort(), await freePort(), await freePort()];
  const conf = path.join(work, 'kannel.conf');
  writeFileSync(
    conf,
    `group = core
admin-port = ${adminPort}
admin-password = bench
status-password = bench
smsbox-port = ${boxPort}
admin-allow-ip = "127.0.0.1"
box-allow-ip = "127.0.0.1"
log-level = 4
log-file = "${work}/bearerbox.log"
store-type = file
store-location = "${work}/store/kannel.store"
dlr-storage = internal

group = smsc
smsc = smpp
smsc-id = sim
host = 127.0.0.1
port = ${sim.port}
transceiver-mode = true
smsc-username = xinge
smsc-password = secret
system-type = ""
source-addr-ton = 0
source-addr-npi = 1
dest-addr-ton = 1
dest-addr-npi = 1
max-pending-submits = 100
enquire-link-interval = 30
log-level = 4

group = smsbox
bearerbox-host = 127.0.0.1
bearerbox-port = ${boxPort}
sendsms-port = ${sendPort}
global-sender = 10690000
log-level = 4
log-file = "${work}/smsbox.log"

group = sendsms-user
username = bench
password = bench
max-messages = 10
`,
  );
  const boxes: ChildProcess[] = [];
  try {
    // Without -v 4 the boxes print debug logs to the console and lose half their speed.
    boxes.push(spawn(path.join(dir, 'bearerbox'), ['-v', '4', conf], { stdio: 'ignore' }));
    await new Promise((r) => setTimeout(r, 1000));
    boxes.push(spawn(path.join(dir, 'smsbox'), ['-v', '4', conf], { stdio: 'ignore' }));
    const deadline = Date.now() + 20000;
    for (;;) {
      try {
        const r = await fetch(`http://127.0.0.1:${sendPort}/cgi-bin/sendsms?username=bench&password=bench&to=8613800000000&text=warmup`);
        if (r.status < 300) break;
      } catch {
        /* not up yet */
      }
      if (Date.now() > deadline) throw new Error('kannel did not start');
      await new Promise((r) => setTimeout(r, 200));
    }
    const duration = quick ? 5 : 15;
    let i = 0;
    const before = await sentCount(adminPort);
    const t0 = performance.now();
    const result = await autocannon({
      url: `http://127.0.0.1:${sendPort}`,
      connections: 16,
      duration,
      requests: [
        {
          setupRequest: (req) => ({
            ...req,
            path: `/cgi-bin/sendsms?username=bench&password=bench&to=86138${String(i++).padStart(8, '0')}&text=Your+repayment+is+due+tomorrow.`,
          }),
        },
      ],
    });
    // Let the store drain: count what reached the SMSC, over the whole time it took.
    const accepted = result['2xx'] + result['non2xx'] - result.non2xx;
    let sent = before;
    const drainDeadline = Date.now() + 60000;
    while (Date.now() < drainDeadline) {
      sent = await sentCount(adminPort);
      if (sent - before >= accepted) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    const t1 = performance.now();
    return {
      kannel_accept_per_s: Math.round(result['2xx'] / duration),
      kannel_submit_acked_per_s: Math.round((sent - before) / ((t1 - t0) / 1000)),
      kannel_latency_p99_ms: result.latency.p99,
    };
  } finally {
    for (const b of boxes.reverse()) await stopChild(b);
    await sim.stop();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(await benchKannel(process.argv.includes('--quick')));
}
