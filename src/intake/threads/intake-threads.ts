/**
 * HTTP intake on its own threads (issue 19): the main thread keeps the store, the dispatcher
 * and the binds; `http.threads` worker threads own the HTTP sockets. The first thread opens
 * the listening socket, the others accept on the same descriptor (one process, so the kernel
 * spreads new connections among whoever calls accept first). Answers are written only after
 * the main thread has committed what they acknowledge, as without threads. A thread that
 * dies takes the daemon with it (`onFatal`): intake never goes silently missing.
 */
import { Worker } from 'node:worker_threads';
import { availableParallelism } from 'node:os';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { ClientConfig, Config } from '../../config/schema.js';
import { configSecrets } from '../../observability/logger.js';
import { ApiError } from '../../domain/errors.js';
import { storeUnavailable } from '../http-server.js';
import type { EdgeLimits } from '../http-edge.js';
import type { SmsIntake } from '../routes-sms.js';
import { TurnBatcher, type Answer, type InjectCall, type IntakeWorkerInit, type SmsCall, type ToMain, type ToWorker } from './protocol.js';

/**
 * `http.threads`: auto is none on one or two cores (measured on two: the hand-off between
 * threads costs more CPU than HTTP work it takes off the main thread, and the generator and
 * the SMSC need the second core), else one per core beyond two, at most 4.
 */
export function intakeThreadCount(setting: number | 'auto', cores = availableParallelism()): number {
  if (setting !== 'auto') return setting;
  return cores <= 2 ? 0 : Math.min(4, cores - 2);
}

/** The threads a config asks for, or undefined for HTTP on the main thread. */
export function createIntakeThreads(
  cfg: Config,
  deps: Pick<IntakeThreadsDeps, 'logger' | 'clients' | 'sms' | 'http'> & { onFatal: ((err: Error) => void) | undefined },
): IntakeThreads | undefined {
  const count = intakeThreadCount(cfg.http.threads);
  if (count === 0) return undefined;
  return new IntakeThreads({
    ...deps,
    count,
    logLevel: cfg.log.level,
    secrets: configSecrets(cfg),
    maxBodyBytes: cfg.http.max_body_bytes,
    limits: {
      requestTimeoutMs: cfg.http.request_timeout_ms,
      headersTimeoutMs: cfg.http.headers_timeout_ms,
      keepAliveTimeoutMs: cfg.http.keep_alive_timeout_ms,
      maxConnections: cfg.http.max_connections,
    },
    // Default: thrown where nothing catches it, so the process ends as on any fatal error.
    onFatal:
      deps.onFatal ??
      ((err) =>
        setImmediate(() => {
          throw err;
        })),
  });
}

export interface IntakeThreadsDeps {
  count: number;
  logger: Logger;
  logLevel: string;
  secrets: string[];
  maxBodyBytes: number;
  limits: EdgeLimits;
  clients: () => readonly ClientConfig[];
  sms: SmsIntake;
  /** The main thread's fastify instance: every route but the SMS intake is answered by it. */
  http: FastifyInstance;
  onFatal: (err: Error) => void;
}

/** The worker's entry next to this module: .ts under the test loader, .js when built. */
function workerUrl(): URL {
  const ext = import.meta.url.endsWith('.ts') ? '.ts' : '.js';
  return new URL(`./intake-worker${ext}`, import.meta.url);
}

export class IntakeThreads {
  readonly #d: IntakeThreadsDeps;
  readonly #workers: Worker[] = [];
  #closing = false;

  constructor(deps: IntakeThreadsDeps) {
    if (deps.count < 1) throw new RangeError('IntakeThreads needs at least one thread');
    this.#d = deps;
  }

  get size(): number {
    return this.#workers.length;
  }

  /** The threads (their ids in diagnostics; the tests end one to see the daemon stop). */
  workers(): readonly Worker[] {
    return this.#workers;
  }

  /** Start the threads listening on host:port; resolves with the port (0 picks one). */
  async start(host: string, port: number): Promise<number> {
    const first = this.#spawn(0);
    const opened = await this.#await(first, { t: 'listen', host, port });
    if (opened.t === 'failed') throw opened.err;
    if (opened.t !== 'listening') throw new Error('intake thread answered listen with ready');
    for (let i = 1; i < this.#d.count; i++) {
      const w = this.#spawn(i);
      const r = await this.#await(w, { t: 'listen-fd', fd: opened.fd });
      if (r.t === 'failed') throw r.err;
    }
    return opened.port;
  }

  /** Intake answers 503 draining from now on (the main thread refuses too: this only spares the hop). */
  draining(): void {
    for (const w of this.#workers) w.postMessage({ t: 'draining' } satisfies ToWorker);
  }

  /** The client list changed (SIGHUP): the threads authenticate against the new one. */
  reload(): void {
    const clients = this.#d.clients();
    for (const w of this.#workers) w.postMessage({ t: 'clients', clients } satisfies ToWorker);
  }

  /** Stop accepting, let answers in progress go out (at most graceMs), then end the threads. */
  async close(graceMs = 1000): Promise<void> {
    if (this.#closing) return;
    this.#closing = true;
    await Promise.all(
      this.#workers.map(
        (w) =>
          new Promise<void>((resolve) => {
            const done = () => resolve();
            w.once('exit', done);
            w.on('message', (m: ToMain) => {
              if (m.t === 'closed') done();
            });
            w.postMessage({ t: 'close', graceMs } satisfies ToWorker);
            // A thread that does not answer its close is ended anyway.
            setTimeout(done, graceMs + 1000).unref();
          }),
      ),
    );
    await Promise.all(this.#workers.map((w) => w.terminate()));
  }

  #spawn(index: number): Worker {
    const d = this.#d;
    const init: IntakeWorkerInit = {
      index,
      logLevel: d.logLevel,
      secrets: d.secrets,
      maxBodyBytes: d.maxBodyBytes,
      // The connection cap is the daemon's: each thread gets its part.
      limits: { ...d.limits, maxConnections: Math.max(1, Math.ceil(d.limits.maxConnections / d.count)) },
      clients: d.clients(),
    };
    const w = new Worker(workerUrl(), { workerData: init, name: `xinge-intake-${index}` });
    this.#workers.push(w);
    const answers = new TurnBatcher<Answer>((list) => post(w, { t: 'answers', answers: list }));
    w.on('message', (m: ToMain) => {
      if (m.t !== 'calls') return;
      for (const c of m.calls) {
        if (c.t === 'sms') this.#sms(answers, c);
        else this.#inject(answers, c);
      }
    });
    w.on('error', (err) => {
      d.logger.fatal({ err, thread: index }, 'intake thread failed: the daemon stops');
      d.onFatal(err);
    });
    w.on('exit', (code) => {
      if (this.#closing) return;
      const err = new Error(`intake thread ${index} exited with code ${code}`);
      d.logger.fatal({ thread: index, code }, 'intake thread exited: the daemon stops');
      d.onFatal(err);
    });
    return w;
  }

  #await(w: Worker, msg: ToWorker): Promise<{ t: 'listening'; fd: number; port: number } | { t: 'ready' } | { t: 'failed'; err: Error }> {
    return new Promise((resolve) => {
      const onMessage = (m: ToMain) => {
        if (m.t === 'listening' || m.t === 'ready') finish(m);
        else if (m.t === 'listen-error') finish({ t: 'failed', err: Object.assign(new Error(m.message), { code: m.code }) });
      };
      const onExit = (code: number) => finish({ t: 'failed', err: new Error(`intake thread exited with code ${code} while starting`) });
      const finish = (r: Parameters<typeof resolve>[0]) => {
        w.off('message', onMessage);
        w.off('exit', onExit);
        resolve(r);
      };
      w.on('message', onMessage);
      w.on('exit', onExit);
      w.postMessage(msg);
    });
  }

  #sms(out: TurnBatcher<Answer>, m: SmsCall): void {
    const client = this.#d.clients().find((c) => c.name === m.client);
    const run =
      client === undefined
        ? Promise.reject(new ApiError('unauthorized', 'unknown token'))
        : (m.kind === 'one' ? this.#d.sms.one : this.#d.sms.batch)({ client, idempotencyKey: m.key, rawBody: m.rawBody, body: parseBody(m.rawBody) });
    run.then(
      (a) => out.push({ t: 'answer', id: m.id, status: a.status, body: a.body }),
      (err: unknown) => out.push(this.#error(m.id, err)),
    );
  }

  #inject(out: TurnBatcher<Answer>, m: InjectCall): void {
    this.#d.http
      .inject({
        method: m.method as 'GET',
        url: m.url,
        headers: m.headers,
        ...(m.body.length > 0 ? { payload: m.body } : {}),
      })
      .then(
        (res) => {
          const headers: Record<string, string | string[]> = {};
          for (const [k, v] of Object.entries(res.headers)) if (v !== undefined) headers[k] = Array.isArray(v) ? v : String(v);
          out.push({ t: 'raw', id: m.id, status: res.statusCode, headers, body: res.rawPayload });
        },
        (err: unknown) => out.push(this.#error(m.id, err)),
      );
  }

  #error(id: number, err: unknown): Answer {
    const e = err instanceof ApiError ? err : storeUnavailable(err);
    if (e !== undefined) return { t: 'error', id, code: e.code, message: e.message, field: e.field, retryAfter: e.retryAfter };
    this.#d.logger.error({ err }, 'unhandled error');
    return { t: 'error', id, code: 'internal', message: 'internal error', field: undefined, retryAfter: undefined };
  }
}

/** The thread parsed it once already: an empty body is `undefined`, as fastify gives it. */
function parseBody(raw: string): unknown {
  return raw.length === 0 ? undefined : JSON.parse(raw);
}

/** A thread already gone (the daemon is stopping) has no one to answer. */
function post(w: Worker, msg: ToWorker): void {
  try {
    w.postMessage(msg);
  } catch {
    /* terminated */
  }
}
