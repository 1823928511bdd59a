/**
 * An intake thread (http.threads): accepts HTTP connections on the listening socket it
 * shares with the other intake threads, and does the per-request work that needs no store:
 * HTTP parsing, limits, JSON, bearer auth and scopes. POST /v1/sms and /v1/sms/batch go to
 * the main thread as parsed bodies; every other route is answered by the main thread's own
 * fastify instance (inject), so routes and their answers exist in one place.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { Server } from 'node:http';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { buildHttpServer, requireNotDraining, requireScope } from '../http-server.js';
import { createLogger } from '../../observability/logger.js';
import { ApiError, type ApiErrorCode } from '../../domain/errors.js';
import type { ClientConfig } from '../../config/schema.js';
import { idempotencyKeyOf } from '../routes-sms.js';
import { HOP_HEADERS, TurnBatcher, type Answer, type IntakeWorkerInit, type ToMain, type ToWorker } from './protocol.js';

const port = parentPort!;
const init = workerData as IntakeWorkerInit;
let clients: readonly ClientConfig[] = init.clients;
let draining = false;
let closing = false;

const logger = createLogger(init.logLevel, undefined, { secrets: init.secrets }).child({ intake_thread: init.index });
const app = buildHttpServer({ logger, maxBodyBytes: init.maxBodyBytes, clients: () => clients, isDraining: () => draining, limits: init.limits });

const waiting = new Map<number, (a: Answer) => void>();
let nextId = 1;

type Call = Extract<ToMain, { t: 'calls' }>['calls'][number];
type Unsent<T> = T extends unknown ? Omit<T, 'id'> : never;
const calls = new TurnBatcher<Call>((list) => port.postMessage({ t: 'calls', calls: list } satisfies ToMain));
function call(msg: Unsent<Call>): Promise<Answer> {
  const id = nextId++;
  return new Promise((resolve) => {
    waiting.set(id, resolve);
    calls.push({ ...msg, id } as Call);
  });
}

function answer(reply: FastifyReply, a: Answer): FastifyReply {
  switch (a.t) {
    case 'answer':
      return reply.code(a.status).send(a.body);
    case 'error':
      throw new ApiError(a.code as ApiErrorCode, a.message, { ...(a.field !== undefined ? { field: a.field } : {}), ...(a.retryAfter !== undefined ? { retryAfter: a.retryAfter } : {}) });
    case 'raw':
      reply.code(a.status);
      for (const [k, v] of Object.entries(a.headers)) if (!HOP_HEADERS.has(k)) reply.header(k, v);
      return reply.send(Buffer.from(a.body.buffer, a.body.byteOffset, a.body.byteLength));
  }
}

const preHandler = [requireNotDraining(() => draining), requireScope(() => clients, 'sms')];
const smsCall = (kind: 'one' | 'batch') => async (req: FastifyRequest, reply: FastifyReply) => {
  const key = idempotencyKeyOf(req.headers);
  return answer(reply, await call({ t: 'sms', kind, client: req.client!.name, key, rawBody: req.rawBody ?? '' }));
};
app.post('/v1/sms', { preHandler }, smsCall('one'));
app.post('/v1/sms/batch', { preHandler }, smsCall('batch'));

app.all('*', async (req, reply) => {
  const headers: Record<string, string | string[]> = {};
  for (const [k, v] of Object.entries(req.headers)) if (v !== undefined) headers[k] = v;
  return answer(reply, await call({ t: 'inject', method: req.method, url: req.url, headers, body: req.rawBody ?? '' }));
});

/** Requests being answered now: a close waits for them. */
let active = 0;
app.addHook('onRequest', (_req, _reply, done) => {
  active++;
  done();
});
app.addHook('onResponse', (_req, _reply, done) => {
  active--;
  done();
});

const server: Server = app.server;
// After a close the shared socket still accepts until every thread is gone: those are cut.
server.on('connection', (socket) => {
  if (closing) socket.destroy();
});

async function listen(opts: { host: string; port: number } | { fd: number }): Promise<void> {
  await app.ready();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

async function close(graceMs: number): Promise<void> {
  closing = true;
  draining = true;
  server.closeIdleConnections();
  const deadline = Date.now() + graceMs;
  while (active > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  // The listening descriptor is shared: it is closed once, when the threads are terminated.
  server.closeAllConnections();
  port.postMessage({ t: 'closed' } satisfies ToMain);
}

port.on('message', (m: ToWorker) => {
  switch (m.t) {
    case 'answers':
      for (const a of m.answers) {
        const w = waiting.get(a.id);
        waiting.delete(a.id);
        w?.(a);
      }
      return;
    case 'listen':
      listen({ host: m.host, port: m.port }).then(
        () => {
          const addr = server.address();
          const fd = (server as unknown as { _handle: { fd: number } })._handle.fd;
          port.postMessage({ t: 'listening', fd, port: typeof addr === 'object' && addr !== null ? addr.port : m.port } satisfies ToMain);
        },
        (err: NodeJS.ErrnoException) => port.postMessage({ t: 'listen-error', code: err.code, message: err.message } satisfies ToMain),
      );
      return;
    case 'listen-fd':
      listen({ fd: m.fd }).then(
        () => port.postMessage({ t: 'ready' } satisfies ToMain),
        (err: NodeJS.ErrnoException) => port.postMessage({ t: 'listen-error', code: err.code, message: err.message } satisfies ToMain),
      );
      return;
    case 'clients':
      clients = m.clients;
      return;
    case 'draining':
      draining = true;
      return;
    case 'close':
      void close(m.graceMs);
      return;
  }
});
