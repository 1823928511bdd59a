/**
 * `xinge sim` in a process of its own, for tests that kill the daemon: the peer outlives each
 * kill, as a carrier's SMSC or MMSC does, and keeps what it has not delivered yet.
 */
import net from 'node:net';
import { spawn, type ChildProcess } from 'node:child_process';
import { CLI, REPO } from '../foundation/fixtures/daemon.js';

/** Resolves once something accepts TCP connections on `port` (127.0.0.1). */
export async function listening(port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect({ host: '127.0.0.1', port }, () => {
        s.destroy();
        resolve(true);
      });
      s.on('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`nothing listening on ${port} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** `xinge sim ...args`, killed at teardown; resolves once `readyPort` listens. */
export async function startSimProcess(t: { teardown(fn: () => unknown): void }, args: string[], readyPort: number): Promise<ChildProcess> {
  const sim = spawn(process.execPath, ['--import', 'tsx', CLI, 'sim', ...args], {
    cwd: REPO,
    env: { PATH: process.env.PATH, HOME: process.env.HOME },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  t.teardown(() => void sim.kill('SIGKILL'));
  await listening(readyPort, 30000);
  return sim;
}
