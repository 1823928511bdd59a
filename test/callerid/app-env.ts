/**
 * A daemon (fake SMPP connectors) with caller_id pointed at the provider simulator on
 * loopback, a webhook receiver on loopback, and one clock for both. Not a test file.
 */
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { baseConfigObject, makeConfig, startTestApp, tempDir, type TestApp } from '../helpers/fixtures.js';
import type { CallerIdProviderSim, CallerIdSimOptions } from '../../src/sim/callerid-provider.js';
import { APP_KEY, APP_SECRET, Clock, ORG_NUMBERS, startProviderSim } from './helpers.js';

export const CID_TOKEN = 'test-token-callerid-1';
export const CID2_TOKEN = 'test-token-callerid-2';
export const HOOK_SECRET = 'whsec-callerid-0123456789';

export interface Hook {
  headers: IncomingMessage['headers'];
  body: string;
  json: Record<string, unknown>;
}

export interface CallerIdEnv {
  ta: TestApp;
  sim: CallerIdProviderSim;
  clock: Clock;
  hooks: Hook[];
  dir: string;
  inject: TestApp['app']['http']['inject'];
  tick(): Promise<void>;
}

type T = Parameters<typeof tempDir>[0] & { teardown(fn: () => unknown): void };

export async function hookServer(t: T): Promise<{ url: string; got: Hook[] }> {
  const got: Hook[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      got.push({ headers: req.headers, body, json: JSON.parse(body) as Record<string, unknown> });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => {
    server.closeAllConnections();
    return new Promise((r) => server.close(r));
  });
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`, got };
}

export async function callerIdEnv(
  t: T,
  o: { level?: string; clock?: Clock; sim?: CallerIdProviderSim; simOptions?: CallerIdSimOptions; callerId?: Record<string, unknown>; dir?: string; hooks?: { url: string; got: Hook[] } } = {},
): Promise<CallerIdEnv> {
  const clock = o.clock ?? new Clock();
  const sim = o.sim ?? (await startProviderSim(t, { now: clock.now, reviewMs: 60_000, activateMs: 60_000, validityDays: 365, ...o.simOptions }));
  const hooks = o.hooks ?? (await hookServer(t));
  const dir = o.dir ?? tempDir(t);
  const obj = baseConfigObject(dir) as Record<string, any>;
  obj.clients.push(
    { name: 'cid', token: CID_TOKEN, scopes: ['callerid'], webhook_url: hooks.url, webhook_secret: HOOK_SECRET },
    { name: 'cid2', token: CID2_TOKEN, scopes: ['callerid'] },
  );
  obj.caller_id = {
    base_url: sim.baseUrl,
    app_key: APP_KEY,
    app_secret: APP_SECRET,
    numbers: ORG_NUMBERS,
    timeout_ms: 3000,
    max_attempts: 3,
    backoff: { initial_ms: 1, max_ms: 50 },
    poll_s: 60,
    logo: { max_bytes: 150 },
    ...o.callerId,
  };
  obj.webhooks = { initial_backoff_ms: 50, max_backoff_ms: 200, timeout_ms: 2000 };
  const ta = startTestApp(makeConfig(obj), { now: clock.now, ...(o.level !== undefined ? { level: o.level } : {}) });
  await ta.app.start();
  t.teardown(() => (ta.app.store.isOpen() ? ta.close() : undefined));
  return {
    ta,
    sim,
    clock,
    hooks: hooks.got,
    dir,
    inject: ta.app.http.inject.bind(ta.app.http),
    tick: () => ta.app.callerId!.poller.tick(),
  };
}
