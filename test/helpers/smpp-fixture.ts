/** End-to-end fixture: real SMPP bind pools against SmscSimulator instances over loopback. */
import { Writable } from 'node:stream';
import { SmscSimulator, type SmscSimInput } from '../../src/sim/smsc.js';
import { buildApp, type App } from '../../src/app.js';
import { realConnectors } from '../../src/daemon.js';
import { createLogger } from '../../src/observability/logger.js';
import { baseConfigObject, makeConfig, tempDir } from './fixtures.js';

export interface SmppTestEnv {
  app: App;
  sims: Map<string, SmscSimulator>;
  dir: string;
  lines: string[];
  /** Build a second app on the same store file (restart). */
  restart(): Promise<App>;
  close(): Promise<void>;
}

export interface CarrierSpec {
  id: string;
  sim?: SmscSimInput;
  [k: string]: unknown;
}

export async function startSmppEnv(
  t: { teardown(fn: () => unknown): void },
  carriers: CarrierSpec[],
  patch: (cfg: Record<string, unknown>) => void = () => {},
  opts: { level?: string; now?: () => number; dir?: string } = {},
): Promise<SmppTestEnv> {
  const dir = opts.dir ?? tempDir(t);
  const sims = new Map<string, SmscSimulator>();
  const carrierCfgs: Array<Record<string, unknown>> = [];
  for (const c of carriers) {
    const { sim: simOpts, ...rest } = c;
    const sim = new SmscSimulator({ recordLimit: 100000, ...simOpts });
    const { port } = await sim.start();
    sims.set(c.id, sim);
    carrierCfgs.push({
      host: '127.0.0.1',
      port,
      binds: 1,
      window: 10,
      tps: 10000,
      enquire_link_s: 30,
      response_timeout_s: 5,
      reconnect: { initial_ms: 50, max_ms: 500, auth_failure_ms: 60000 },
      source: { addr: '10690000' },
      ...rest,
    });
  }
  const obj = baseConfigObject(dir, carrierCfgs);
  patch(obj);
  const cfg = makeConfig(obj);
  const lines: string[] = [];
  const dest = new Writable({
    write(chunk, _e, cb) {
      lines.push(...String(chunk).split('\n').filter((l) => l !== ''));
      cb();
    },
  });
  const logger = createLogger(opts.level ?? 'silent', dest);
  const make = () => buildApp({ config: cfg, logger, ...(opts.now ? { now: opts.now } : {}), ...realConnectors(), dispatchTickMs: 10 });
  let app = make();
  let closed = false;
  const env: SmppTestEnv = {
    app,
    sims,
    dir,
    lines,
    async restart() {
      await app.drain();
      app = make();
      env.app = app;
      await app.start();
      return app;
    },
    async close() {
      if (closed) return;
      closed = true;
      await app.drain().catch(() => undefined);
      for (const s of sims.values()) await s.stop();
    },
  };
  t.teardown(() => env.close());
  await app.start();
  return env;
}

export function ucs2(buf: Buffer): string {
  return Buffer.from(buf).swap16().toString('utf16le');
}
