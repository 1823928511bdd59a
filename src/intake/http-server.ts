/**
 * The fastify instance: JSON parsing with the size limit (413) and clear errors (400),
 * bearer auth with scopes, the error catalogue rendered as {"error":{code,message,field}},
 * intake refused with 503 while draining.
 */
import Fastify, { LogController, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { timingSafeEqual, hash } from 'node:crypto';
import { ApiError } from '../domain/errors.js';
import { StoreError } from '../store/postgres/errors.js';
import { lazyChildLoggerFactory } from './request-logger.js';
import type { ClientConfig } from '../config/schema.js';
import {
  MAX_URL_LENGTH,
  RouteMethods,
  applyServerLimits,
  clientErrorHandler,
  connectionsCheckingInterval,
  frameworkError,
  isJsonContentType,
  type EdgeLimits,
} from './http-edge.js';
import { refuseRepeatedParams } from './query.js';

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
  /** Timeouts and the connection cap (config http.*); defaults for tests that build a bare server. */
  limits?: Partial<EdgeLimits>;
}

const DEFAULT_LIMITS: EdgeLimits = { requestTimeoutMs: 30000, headersTimeoutMs: 10000, keepAliveTimeoutMs: 72000, maxConnections: 1024 };

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

const routeUrls = new WeakMap<FastifyInstance, Array<{ url: string; methods: string[] }>>();

/** Every route registered on a server built here, as patterns (`/v1/messages/:id`) and methods. */
export function registeredRoutes(app: FastifyInstance): ReadonlyArray<{ url: string; methods: string[] }> {
  return routeUrls.get(app) ?? [];
}

export function buildHttpServer(opts: HttpServerOptions): FastifyInstance {
  const limits: EdgeLimits = { ...DEFAULT_LIMITS, ...opts.limits };
  const routes = new RouteMethods();
  const app = Fastify({
    loggerInstance: opts.logger,
    // One request line at debug (onResponse below), with the URL masked; not fastify's own.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: opts.maxBodyBytes,
    // Not fastify's own 503 body while it closes: the drain began before the close, so intake
    // already answers 503 `draining` in the API's error shape (requireNotDraining), and reads
    // are still served until the last socket goes.
    return503OnClosing: false,
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 200 },
    requestTimeout: limits.requestTimeoutMs,
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    http: { connectionsCheckingInterval: connectionsCheckingInterval(limits) },
    clientErrorHandler,
    // The router's own answers (bad percent-encoding, an over-long segment) in the API's shape.
    frameworkErrors: (err: Error, _req: FastifyRequest, reply: FastifyReply) => sendApiError(reply, frameworkError(err as { code?: string }, opts.maxBodyBytes)),
  });
  applyServerLimits(app.server, limits);
  routeUrls.set(app as unknown as FastifyInstance, []);
  app.addHook('onRoute', (r) => {
    routes.add(r.url, r.method as string | string[]);
    routeUrls.get(app as unknown as FastifyInstance)?.push({ url: r.url, methods: [r.method].flat() as string[] });
  });
  app.addHook('onRequest', (req, _reply, done) => {
    if (req.url.length > MAX_URL_LENGTH) return done(new ApiError('uri_too_long', `request target over ${MAX_URL_LENGTH} characters`));
    try {
      refuseRepeatedParams(req.query);
    } catch (err) {
      return done(err as Error);
    }
    done();
  });
  app.setChildLoggerFactory(lazyChildLoggerFactory as unknown as Parameters<typeof app.setChildLoggerFactory>[0]);

  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'string', bodyLimit: opts.maxBodyBytes }, (req, body, done) => {
    const text = body as string;
    (req as FastifyRequest).rawBody = text;
    if (text.length === 0) return done(null, undefined);
    if (!isJsonContentType(req.headers['content-type'])) {
      return done(new ApiError('unsupported_media_type', 'the body must be JSON sent as Content-Type: application/json'), undefined);
    }
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
    // fastify's messages may quote the request (a URL, a header): replaced, never passed on.
    if (e.statusCode !== undefined && e.statusCode >= 400 && e.statusCode < 500) return sendApiError(reply, frameworkError(e, opts.maxBodyBytes));
    const unavailable = storeUnavailable(err);
    if (unavailable !== undefined) {
      req.log.warn({ err: { code: (err as StoreError).code } }, 'store unavailable: request refused');
      return sendApiError(reply, unavailable);
    }
    req.log.error({ err }, 'unhandled error');
    return sendApiError(reply, new ApiError('internal', 'internal error'));
  });

  app.setNotFoundHandler((req, reply) => {
    const allowed = routes.allowed(req.url);
    if (allowed.length > 0) {
      reply.header('Allow', allowed.join(', '));
      return sendApiError(reply, new ApiError('method_not_allowed', `${req.method.slice(0, 16)} is not allowed here; use ${allowed.join(', ')}`));
    }
    return sendApiError(reply, new ApiError('not_found', 'no such endpoint'));
  });
  return app as unknown as FastifyInstance;
}

/**
 * The store's database is away (PostgreSQL restarting, a failover): nothing of the request was
 * committed, and the client may retry: 503 `store_unavailable`, not a 500.
 */
export function storeUnavailable(err: unknown): ApiError | undefined {
  if (!(err instanceof StoreError) || (err.code !== 'store_unavailable' && err.code !== 'store_closed')) return undefined;
  return new ApiError('store_unavailable', 'the message store is unavailable; nothing was accepted, retry', { retryAfter: 1 });
}

export function sendApiError(reply: FastifyReply, err: ApiError): FastifyReply {
  if (err.retryAfter !== undefined) reply.header('Retry-After', String(Math.max(1, Math.ceil(err.retryAfter))));
  // A draining daemon asks the client to drop its keep-alive socket, so the close that
  // follows has fewer sockets to wait for.
  if (err.code === 'draining') reply.header('Connection', 'close');
  return reply.code(err.status).send(err.toBody());
}

/** preHandler factory: bearer token → client; the scope required (any one of them, for a list). */
export function requireScope(clients: () => readonly ClientConfig[], scope: string | readonly string[]) {
  const wanted = typeof scope === 'string' ? [scope] : scope;
  return async (req: FastifyRequest): Promise<void> => {
    const h = req.headers.authorization;
    if (typeof h !== 'string' || !h.startsWith('Bearer ')) throw new ApiError('unauthorized', 'missing bearer token');
    const given = tokenDigest(h.slice(7).trim());
    // Compared as fixed-length digests in constant time, against every client.
    let client: ClientConfig | undefined;
    for (const c of clientDigests(clients())) if (timingSafeEqual(c.digest, given)) client = c.client;
    if (client === undefined) throw new ApiError('unauthorized', 'unknown token');
    if (!wanted.some((w) => client.scopes.includes(w as ClientConfig['scopes'][number]))) {
      throw new ApiError('forbidden', `token lacks scope ${wanted.join(' or ')}`);
    }
    req.client = client;
  };
}

/** Throws the 503 `draining` answer while the daemon drains. */
export function refuseWhileDraining(isDraining: () => boolean): void {
  if (isDraining()) throw new ApiError('draining', 'shutting down', { retryAfter: 5 });
}

export function requireNotDraining(isDraining: () => boolean) {
  return async (): Promise<void> => refuseWhileDraining(isDraining);
}
