/**
 * The kill -9 loops' middle: clients send as fast as the daemon answers until it is killed
 * with SIGKILL at a random moment (400–1,600 ms in). A request the kill cuts was never
 * answered, so never accepted: `send` throws for it and it is counted, not retried.
 */
import { startDaemon, waitReady, writeYaml, type Daemon } from '../foundation/fixtures/daemon.js';

export async function loadUntilKilled(d: Daemon, clients: number, send: (client: number) => Promise<void>): Promise<{ signal: NodeJS.Signals | null; cut: number }> {
  let stop = false;
  let cut = 0;
  const loops = Array.from({ length: clients }, async (_, c) => {
    while (!stop) {
      try {
        await send(c);
      } catch {
        cut++;
      }
    }
  });
  await new Promise((r) => setTimeout(r, 400 + Math.floor(Math.random() * 1200)));
  d.child.kill('SIGKILL');
  const exit = await d.exited;
  stop = true;
  await Promise.all(loops);
  return { signal: exit.signal, cut };
}

/** One start of a loop: the config written as `name`.yaml in `dir`, the daemon ready, killed at teardown. */
export async function startReady(t: { teardown(fn: () => unknown): void }, dir: string, name: string, cfg: unknown, httpPort: number): Promise<Daemon> {
  const d = startDaemon(writeYaml(dir, `${name}.yaml`, cfg));
  t.teardown(() => d.kill());
  await waitReady(d, httpPort);
  return d;
}
