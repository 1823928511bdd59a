/**
 * The fastify instance: JSON parsing with the size limit (413) and clear errors (400),
 * bearer auth with scopes, the error catalogue rendered as {"error":{code,message,field}},
 * intake refused with 503 while draining.
 */
import Fastify, { LogController, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { timingSafeEqual, hash } from 'node:crypto';
import { ApiError } from '../domain/errors.js';
import { lazyChildLoggerFactory } from './request-logger.js';
import type { ClientConfig } from '../config/schema.js';

declare module 'fastify' {
  interface FastifyRequest {
    client?: ClientConfig;
    rawBody?: string;
  }
}

export interface HttpServerOptions {
  logger: Logger;
  maxBodyBytes: number;
  clients: () => readonly ClientConfig[];
  isDraining: () => boolean;
}

// crypto.hash (Node 20.12+): one call, no Hash object per request.
const tokenDigest = (t: string): Buffer => hash('sha256', t, 'buffer');
// Digests of the configured tokens, recomputed only when the client list changes (SIGHUP).
const digestCache = new WeakMap<readonly ClientConfig[], Array<{ client: ClientConfig; digest: Buffer }>>();
function clientDigests(list: readonly ClientConfig[]): Array<{ client: ClientConfig; digest: Buffer }> {
  let d = digestCache.get(list);
  if (d === undefined) {
    d = list.map((client) => ({ client, digest: tokenDigest(client.token) }));
    digestCache.set(list, d);
  }
  return d;
}

export function buildHttpServer(opts: HttpServerOptions): FastifyInstance {
  const app = Fastify({
    loggerInstance: opts.logger,
    // One request line at debug (onResponse below), with the URL masked; not fastify's own.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: opts.maxBodyBytes,
    // Not fastify's own 503 body while it closes: the drain began before the close, so intake
    // already answers 503 `draining` in the API's error shape (requireNotDraining), and reads
    // are still served until the last socket goes.
    return503OnClosing: false,
    routerOptions: { ignoreTrailingSlash: true },
  });
  app.setChildLoggerFactory(lazyChildLoggerFactory as unknown as Parameters<typeof app.setChildLoggerFactory>[0]);

  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'string', bodyLimit: opts.maxBodyBytes }, (req, body, done) => {
    const text = body as string;
    (req as FastifyRequest).rawBody = text;
    if (text.length === 0) return done(null, undefined);
    try {
      done(null, JSON.parse(text));
    } catch {
      done(new ApiError('invalid_json', 'body is not valid JSON'), undefined);
    }
  });

  // A callback hook, not an async one: no promise per request for a line that is usually off.
  app.addHook('onResponse', (req, reply, done) => {
    req.log.debug({ req, res: reply, ms: reply.elapsedTime }, 'request');
    done();
  });

  app.setErrorHandler((err: unknown, req: FastifyRequest, reply: FastifyReply) => {
    if (err instanceof ApiError) return sendApiError(reply, err);
    const e = err as { code?: string; statusCode?: number; message?: string };
    if (e.code === 'FST_ERR_CTP_BODY_TOO_LARGE' || e.statusCode === 413) {
      return sendApiError(reply, new ApiError('payload_too_large', `body over ${opts.maxBodyBytes} bytes`));
    }
    if (e.statusCode !== undefined && e.statusCode >= 400 && e.statusCode < 500) {
      return sendApiError(reply, new ApiError('bad_request', e.message ?? 'bad request'));
    }
    req.log.error({ err }, 'unhandled error');
    return sendApiError(reply, new ApiError('internal', 'internal error'));
  });

  app.setNotFoundHandler((_req, reply) => sendApiError(reply, new ApiError('not_found', 'no such endpoint')));
  return app as unknown as FastifyInstance;
}

export function sendApiError(reply: FastifyReply, err: ApiError): FastifyReply {
  if (err.retryAfter !== undefined) reply.header('Retry-After', String(Math.max(1, Math.ceil(err.retryAfter))));
  // A draining daemon asks the client to drop its keep-alive socket, so the close that
  // follows has fewer sockets to wait for.
  if (err.code === 'draining') reply.header('Connection', 'close');
  return reply.code(err.status).send(err.toBody());
}

/** preHandler factory: bearer token → client; scope required. */
export function requireScope(clients: () => readonly ClientConfig[], scope: string) {
  return async (req: FastifyRequest): Promise<void> => {
    const h = req.headers.authorization;
    if (typeof h !== 'string' || !h.startsWith('Bearer ')) throw new ApiError('unauthorized', 'missing bearer token');
    const given = tokenDigest(h.slice(7).trim());
    // Compared as fixed-length digests in constant time, against every client.
    let client: ClientConfig | undefined;
    for (const c of clientDigests(clients())) if (timingSafeEqual(c.digest, given)) client = c.client;
    if (client === undefined) throw new ApiError('unauthorized', 'unknown token');
    if (!client.scopes.includes(scope as ClientConfig['scopes'][number])) {
      throw new ApiError('forbidden', `token lacks scope ${scope}`);
    }
    req.client = client;
  };
}

export function requireNotDraining(isDraining: () => boolean) {
  return async (): Promise<void> => {
    if (isDraining()) throw new ApiError('draining', 'shutting down', { retryAfter: 5 });
  };
}
