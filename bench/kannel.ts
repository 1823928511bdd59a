/**
 * Side by side with Kannel (issues 7 and 19): Debian's kannel (bearerbox + smsbox, store-type
 * file, boxes at log level 4) against the same SMSC peer as xinge's single-POST scenario (the
 * lean C peer) under the same load (wrk, or autocannon as the fallback, 16 connections),
 * sendsms over HTTP, counted as submit_sm acknowledged per second (bearerbox's "sent"
 * counter). Reports both boxes' CPU per message and their threads' busy shares, the peer's,
 * the generator's and the machine's steal. Skips with a clear message where Kannel is not
 * installed (Debian: `apt-get install -y kannel`).
 */
import { spawn, type ChildProcess, execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startMeter } from './lib/cpu.js';
import { generatorFigures, httpLoad } from './lib/http-load.js';
import { peerBatching, startThroughputPeer } from './lib/lean-peer.js';
import { freePort, stopChild } from './lib/procs.js';

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
  const peer = await startThroughputPeer(false);
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
port = ${peer.port}
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
    const before = await sentCount(adminPort);
    const peer0 = await peer.stats();
    const meter = startMeter({ bearerbox: boxes[0]!.pid, smsbox: boxes[1]!.pid, peer: peer.pid }, ['bearerbox', 'smsbox']);
    const t0 = performance.now();
    const load = await httpLoad('kannel-sendsms', `http://127.0.0.1:${sendPort}`, duration);
    // Let the store drain: count what reached the SMSC, over the whole time it took.
    let sent = before;
    const drainDeadline = Date.now() + 60000;
    while (Date.now() < drainDeadline) {
      sent = await sentCount(adminPort);
      if (sent - before >= load.ok) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    const t1 = performance.now();
    const figures = meter.stop(sent - before, 'kannel_');
    const batching = peerBatching(peer0, await peer.stats(), sent - before, 'kannel_');
    const boxesUs = Number(figures.kannel_bearerbox_cpu_us_per_msg ?? 0) + Number(figures.kannel_smsbox_cpu_us_per_msg ?? 0);
    return {
      peer: peer.name,
      kannel_accept_per_s: Math.round(load.ok / load.durationS),
      kannel_submit_acked_per_s: Math.round((sent - before) / ((t1 - t0) / 1000)),
      kannel_non2xx: load.non2xx,
      kannel_latency_p50_ms: load.p50Ms,
      kannel_latency_p99_ms: load.p99Ms,
      // Both boxes: what Kannel spends per message, to set beside the daemon's.
      kannel_cpu_us_per_msg: +boxesUs.toFixed(1),
      ...figures,
      ...batching,
      ...generatorFigures('kannel_', load, sent - before),
    };
  } finally {
    for (const b of boxes.reverse()) await stopChild(b);
    await peer.stop();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(await benchKannel(process.argv.includes('--quick')));
}
