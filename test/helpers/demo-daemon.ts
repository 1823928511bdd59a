/**
 * The embedded default (config/default.yaml) started in-process as `npm start` starts it,
 * on free ports and a temp store: the daemon, its SMSC simulator and the simulator's HTTP
 * port. For the walkthrough and inbox-page tests.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { makeConfig, tempDir } from './fixtures.js';
import { createLogger } from '../../src/observability/logger.js';
import { startDaemon, type RunningDaemon } from '../../src/daemon.js';
import { REPO, freePort } from '../foundation/fixtures/daemon.js';

export const DEMO_TOKEN = 'demo-token-change-me';

export interface Demo {
  daemon: RunningDaemon;
  api: string;
  sim: string;
  /** fetch against the API with the demo token; JSON in and out. */
  call(method: string, path: string, body?: unknown): Promise<{ status: number; json: any }>;
}

export function demoConfigObject(dir: string, simPort: number, mmscPort: number): Record<string, any> {
  const obj = parse(readFileSync(join(REPO, 'config', 'default.yaml'), 'utf8')) as Record<string, any>;
  obj.http.port = 0;
  obj.store.path = join(dir, 'xinge.db');
  obj.log.level = 'silent';
  obj.simulator.port = simPort;
  obj.simulator.http_port = 0;
  obj.simulator.receipt_delay_ms = 50;
  obj.carriers[0].port = simPort;
  // The built-in MMSC and the MM7 receiver: free ports too, so tests can run side by side.
  if (obj.simulator.mmsc_port !== undefined) {
    obj.simulator.mmsc_port = mmscPort;
    for (const m of obj.mm7?.mmscs ?? []) m.url = m.url.replace(/:\d+\//, `:${mmscPort}/`);
  }
  if (obj.mm7?.receiver !== undefined) obj.mm7.receiver.port = 0;
  return obj;
}

export async function startDemo(t: { teardown(fn: () => unknown): void }, mutate: (o: Record<string, any>) => void = () => {}): Promise<Demo> {
  const dir = tempDir(t);
  const obj = demoConfigObject(dir, await freePort(), await freePort());
  mutate(obj);
  const daemon = await startDaemon(makeConfig(obj), createLogger('silent'));
  t.teardown(() => daemon.stop());
  const api = `http://127.0.0.1:${daemon.port}`;
  const sim = daemon.simWeb ? `http://127.0.0.1:${daemon.simWeb.port}` : '';
  const call = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(api + path, {
      method,
      headers: { authorization: `Bearer ${DEMO_TOKEN}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      signal: AbortSignal.timeout(15000),
    });
    const text = await res.text();
    return { status: res.status, json: text === '' ? undefined : JSON.parse(text) };
  };
  return { daemon, api, sim, call };
}

/** Poll until fn gives a value (event-free state on another port): generous bound for a loaded machine. */
export async function eventually<T>(fn: () => Promise<T | undefined>, what: string, timeoutMs = 30000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
