/** Test fixtures: configs, temp dirs, an in-test connector, a silent or capturing logger. */
import { EventEmitter } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { stringify } from 'yaml';
import { parseConfig } from '../../src/config/load.js';
import type { Config } from '../../src/config/schema.js';
import type { BindState, Connector, ConnectorEvents, InboundDeliver, OutboundSegment, SubmitOutcome } from '../../src/carriers/connector.js';
import { createLogger } from '../../src/observability/logger.js';
import { buildApp, type App } from '../../src/app.js';
import { AdaptiveTokenBucket } from '../../src/scheduler/rate-limiter.js';
import type { NewMessage } from '../../src/store/types.js';
import { testStoreSection } from './test-store.js';

export const TOKEN = 'test-token-loans-1';
export const ADMIN_TOKEN = 'test-token-admin-1';
export const NOTIFY_TOKEN = 'test-token-notify-1';
export const OTP_SECRET = 'test-otp-hmac-secret-0123456789';
export const WEBHOOK_SECRET = 'test-webhook-secret-0123456789';
export const BODY_KEY = Buffer.alloc(32, 7).toString('base64');

export function tempDir(t: { teardown(fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'xinge-test-'));
  // Retried: the store's checkpoint thread closes its connection after the store does, and
  // SQLite may remove the -wal/-shm files while the directory is being emptied (ENOTEMPTY).
  t.teardown(() => rmSync(dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 20 }));
  return dir;
}

export function baseConfigObject(dir: string, carriers: Array<Record<string, unknown>> = [{ id: 'c1', host: '127.0.0.1', port: 1 }]): Record<string, unknown> {
  return {
    // HTTP on the main thread: most tests answer through inject; test/intake/intake-threads.test.ts covers http.threads.
    http: { host: '127.0.0.1', port: 0, threads: 0 },
    shutdown_grace_s: 2,
    store: testStoreSection(dir),
    log: { level: 'silent' },
    clients: [
      { name: 'loans', token: TOKEN, scopes: ['sms', 'otp'], categories: ['otp', 'notification', 'collection', 'marketing'], free_text: true, webhook_url: 'http://127.0.0.1:9/hook', webhook_secret: WEBHOOK_SECRET, allow_private_callbacks: true },
      { name: 'admin', token: ADMIN_TOKEN, scopes: ['admin', 'sms'], categories: ['notification'], free_text: true },
      { name: 'notify', token: NOTIFY_TOKEN, scopes: ['sms'], categories: ['notification'], free_text: false },
    ],
    carriers: carriers.map((c) => ({ system_id: 'xinge', password: 'secret', ...c })),
    routing: { default_carrier: (carriers[0] as { id: string }).id },
    policy: { signature: '【测试】', quiet_hours: { enabled: false }, otp: { secret: OTP_SECRET, body_key: BODY_KEY } },
  };
}

export function makeConfig(obj: Record<string, unknown>): Config {
  return parseConfig(stringify(obj), {});
}

/** A connector written inside the tests: accepts every submit with an increasing id. */
export class FakeConnector extends EventEmitter<ConnectorEvents> implements Connector {
  readonly id: string;
  readonly submits: OutboundSegment[] = [];
  up = true;
  window = 10;
  inFlight = 0;
  next = 1000;
  /** Decide the outcome of each submit; default: accepted. */
  respond: (seg: OutboundSegment, n: number) => SubmitOutcome | Promise<SubmitOutcome> = () => ({ kind: 'accepted', carrierMessageId: String(this.next++) });

  constructor(id: string) {
    super();
    this.id = id;
  }
  start(): void {
    this.emit('bind', this.state());
  }
  async stop(): Promise<void> {}
  capacity(): number {
    return this.up ? this.window - this.inFlight : 0;
  }
  isUp(): boolean {
    return this.up;
  }
  hasBound(): boolean {
    return true;
  }
  binds(): BindState[] {
    return [this.state()];
  }
  state(): BindState {
    return { carrierId: this.id, bindIndex: 0, state: this.up ? 'bound' : 'closed', mode: 'transceiver', inFlight: this.inFlight, window: this.window };
  }
  async submit(seg: OutboundSegment): Promise<SubmitOutcome> {
    this.inFlight++;
    this.submits.push(seg);
    try {
      return await this.respond(seg, this.submits.length);
    } finally {
      this.inFlight--;
    }
  }
  /** Send a receipt as an SMSC would; resolves with the deliver_sm_resp status. */
  receipt(carrierMsgId: string, stat: string, opts: Partial<InboundDeliver> = {}): Promise<number> {
    return new Promise((resolve) => {
      this.emit('deliver', {
        carrierId: this.id,
        bindIndex: 0,
        isReceipt: true,
        esmClass: 4,
        dataCoding: 0,
        sourceAddr: '8613800138000',
        destinationAddr: '10690000',
        shortMessage: Buffer.from(`id:${carrierMsgId} sub:001 dlvrd:001 submit date:2611290930 done date:2611290931 stat:${stat} err:000 text:`),
        tlvs: {},
        ack: (s = 0) => resolve(s),
        ...opts,
      });
    });
  }
}

export interface TestApp {
  app: App;
  connectors: Map<string, FakeConnector>;
  lines: string[];
  close(): Promise<void>;
}

/** A pino logger at `level` whose JSON lines the test reads in `lines`. */
export function capturingLogger(level = 'info'): { logger: ReturnType<typeof createLogger>; lines: string[] } {
  const lines: string[] = [];
  const dest = new Writable({
    write(chunk, _enc, cb) {
      lines.push(...String(chunk).split('\n').filter((l) => l !== ''));
      cb();
    },
  });
  return { logger: createLogger(level, dest), lines };
}

/** The app with fake connectors and a logger whose lines the test can read. */
export function startTestApp(cfg: Config, opts: { level?: string; now?: () => number; receiptHoldMs?: number; onFatal?: (err: Error) => void } = {}): TestApp {
  const lines: string[] = [];
  const dest = new Writable({
    write(chunk, _enc, cb) {
      lines.push(...String(chunk).split('\n').filter((l) => l !== ''));
      cb();
    },
  });
  const connectors = new Map<string, FakeConnector>();
  const app = buildApp({
    config: cfg,
    logger: createLogger(opts.level ?? 'silent', dest),
    ...(opts.now ? { now: opts.now } : {}),
    ...(opts.receiptHoldMs !== undefined ? { receiptHoldMs: opts.receiptHoldMs } : {}),
    ...(opts.onFatal !== undefined ? { onFatal: opts.onFatal } : {}),
    connectorFactory: (c) => {
      const f = new FakeConnector(c.id);
      connectors.set(c.id, f);
      return f;
    },
    rateFactory: (c, now) => new AdaptiveTokenBucket({ tps: c.tps, now }),
    dispatchTickMs: 10,
  });
  return { app, connectors, lines, close: () => app.drain() };
}

export async function waitFor<T>(fn: () => T | undefined | false, timeoutMs = 5000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = fn();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

export const auth = (token = TOKEN) => ({ authorization: `Bearer ${token}` });

let messageCount = 0;
/** A queued single-part message for store tests; ids count up unless `over` gives one. */
export function newMessage(over: Partial<NewMessage> = {}): NewMessage {
  const now = Date.now();
  messageCount++;
  return {
    id: `msg_test${String(messageCount).padStart(6, '0')}`,
    client: 'loans',
    category: 'notification',
    to: '+8613800138000',
    text: 'hello',
    encoding: 'gsm7',
    segmentation: 'udh8',
    segments: 1,
    carrierId: 'c1',
    concatRef: 0,
    sendAt: now,
    expiresAt: now + 86400000,
    createdAt: now,
    ...over,
  };
}

/** Block the event loop for ms (as a long synchronous step, a GC pause or a descheduled process does). */
export function stallEventLoop(ms: number): void {
  const until = Date.now() + ms;
  while (Date.now() < until);
}
