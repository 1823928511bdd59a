/**
 * The kill -9 loops' middle: clients send as fast as the daemon answers until it is killed
 * with SIGKILL at a random moment (400–1,600 ms in). A request the kill cuts was never
 * answered, so never accepted: `send` throws for it and it is counted, not retried.
 */
import { startDaemon, waitReady, writeYaml, type Daemon } from '../foundation/fixtures/daemon.js';

async function loadUntilKilled(d: Daemon, clients: number, send: (client: number) => Promise<void>): Promise<{ signal: NodeJS.Signals | null; cut: number }> {
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

export interface KillCycles {
  cycles: number;
  clients: number;
  /** What a 202 acknowledges, for the assertion messages ("MMS", "codes"…). */
  what: string;
  /** The acknowledged so far (its size must grow in every cycle). */
  acked: { readonly size: number };
  start: (name: string) => Promise<{ d: Daemon; httpPort: number }>;
  /** One request of client `client` to the daemon on `httpPort`; throws when the kill cut it. */
  send: (httpPort: number, client: number) => Promise<void>;
  /** After each kill, with the daemon gone: what must hold on disk. */
  afterKill?: (cycle: number) => void;
}

/** The loop itself: `cycles` times start, load, kill -9; each cycle must have acknowledged something. */
export async function killCycles(t: { equal(a: unknown, b: unknown, m: string): unknown; ok(v: unknown, m: string): unknown }, o: KillCycles): Promise<void> {
  for (let cycle = 1; cycle <= o.cycles; cycle++) {
    const { d, httpPort } = await o.start(`cycle-${cycle}`);
    const before = o.acked.size;
    const { signal, cut } = await loadUntilKilled(d, o.clients, (c) => o.send(httpPort, c));
    t.equal(signal, 'SIGKILL', `cycle ${cycle}: killed`);
    t.ok(o.acked.size > before, `cycle ${cycle}: ${o.acked.size - before} ${o.what} answered 202 before the kill, ${cut} requests cut by it`);
    o.afterKill?.(cycle);
  }
}
