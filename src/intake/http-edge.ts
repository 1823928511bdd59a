/**
 * The HTTP edge below the routes (issue 15, points 5, 11, 12): what Node's parser and
 * fastify's router refuse is answered in the API's error shape, never with their own
 * bodies, which echo the URL (phone numbers included) back to the caller; a wrong method
 * on a known path is 405 with Allow; request, header and keep-alive timeouts and a
 * connection cap so a client that stalls cannot hold sockets shared with the binds.
 */
import { STATUS_CODES, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { ApiError, ERROR_CATALOGUE, type ApiErrorCode } from '../domain/errors.js';

/** Longest request target accepted (414 beyond); Node's 16 KiB header limit answers 431 past that. */
export const MAX_URL_LENGTH = 8192;

export interface EdgeLimits {
  requestTimeoutMs: number;
  headersTimeoutMs: number;
  keepAliveTimeoutMs: number;
  maxConnections: number;
}

function errorBytes(code: ApiErrorCode, message: string): string {
  const status = ERROR_CATALOGUE[code];
  const body = JSON.stringify({ error: { code, message } });
  return `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`;
}

/** Node's parser errors (llhttp codes) as API errors; the message never quotes the request. */
export function parserError(code: string | undefined): { code: ApiErrorCode; message: string } {
  switch (code) {
    case 'HPE_HEADER_OVERFLOW':
      return { code: 'headers_too_large', message: 'request headers over 16 KiB' };
    case 'ERR_HTTP_REQUEST_TIMEOUT':
    case 'HPE_HEADERS_TIMEOUT':
      return { code: 'request_timeout', message: 'the request did not arrive in time' };
    case 'HPE_INVALID_METHOD':
      return { code: 'bad_request', message: 'unknown HTTP method' };
    case 'HPE_INVALID_URL':
      return { code: 'bad_url', message: 'the request target is not a valid URL' };
    case 'HPE_INVALID_CONTENT_LENGTH':
    case 'HPE_UNEXPECTED_CONTENT_LENGTH':
      return { code: 'bad_request', message: 'invalid Content-Length' };
    case 'HPE_INVALID_CHUNK_SIZE':
    case 'HPE_INVALID_TRANSFER_ENCODING':
      return { code: 'bad_request', message: 'invalid chunked body' };
    default:
      return { code: 'bad_request', message: 'malformed HTTP request' };
  }
}

/** fastify's clientErrorHandler: answer on the raw socket, then close it. */
export function clientErrorHandler(err: NodeJS.ErrnoException, socket: Socket): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  // A response already started on this socket cannot be replaced: cut it.
  const pending = (socket as Socket & { _httpMessage?: ServerResponse })._httpMessage;
  if (!socket.writable || pending?.headersSent === true) {
    socket.destroy();
    return;
  }
  const e = parserError(err.code);
  socket.end(errorBytes(e.code, e.message));
}

/** Expect other than 100-continue: 417 in the API's shape (Node's own is an empty body). */
function onCheckExpectation(_req: IncomingMessage, res: ServerResponse): void {
  const body = JSON.stringify({ error: { code: 'expectation_failed', message: 'only Expect: 100-continue is supported' } });
  res.writeHead(417, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body), connection: 'close' });
  res.end(body);
}

export function applyServerLimits(server: Server, limits: EdgeLimits): void {
  server.maxConnections = limits.maxConnections;
  server.headersTimeout = limits.headersTimeoutMs;
  server.requestTimeout = limits.requestTimeoutMs;
  server.keepAliveTimeout = limits.keepAliveTimeoutMs;
  server.on('checkExpectation', onCheckExpectation);
}

/** Node checks request and header timeouts on this interval: a fraction of the timeout, so a cut comes on time. */
export function connectionsCheckingInterval(limits: EdgeLimits): number {
  return Math.max(100, Math.min(30000, Math.floor(Math.min(limits.requestTimeoutMs, limits.headersTimeoutMs) / 3)));
}

/** The methods each route pattern answers, for 405 and Allow. */
export class RouteMethods {
  readonly #routes: Array<{ re: RegExp; methods: Set<string> }> = [];

  add(url: string, methods: string | string[]): void {
    const re = new RegExp(
      `^${url
        .replace(/\/+$/, '')
        .split('/')
        .map((seg) => (seg.startsWith(':') ? '[^/]+' : seg === '*' ? '.*' : seg.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
        .join('/')}/?$`,
    );
    const found = this.#routes.find((r) => r.re.source === re.source);
    const list = Array.isArray(methods) ? methods : [methods];
    if (found) for (const m of list) found.methods.add(m);
    else this.#routes.push({ re, methods: new Set(list) });
  }

  /** Every route pattern and its methods (for tests that walk every route). */
  list(): Array<{ pattern: RegExp; methods: string[] }> {
    return this.#routes.map((r) => ({ pattern: r.re, methods: [...r.methods] }));
  }

  /** The methods a concrete path answers (empty: no such path). */
  allowed(rawUrl: string): string[] {
    const q = rawUrl.indexOf('?');
    const path = q < 0 ? rawUrl : rawUrl.slice(0, q);
    const out = new Set<string>();
    for (const r of this.#routes) if (r.re.test(path)) for (const m of r.methods) out.add(m);
    return [...out].sort();
  }
}

/** fastify errors (4xx) by code, with messages that quote nothing of the request. */
export function frameworkError(e: { code?: string; statusCode?: number }, maxBodyBytes: number): ApiError {
  switch (e.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new ApiError('payload_too_large', `body over ${maxBodyBytes} bytes`);
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new ApiError('unsupported_media_type', 'the body must be application/json');
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return new ApiError('bad_request', 'Content-Length does not match the body');
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new ApiError('invalid_json', 'body is empty');
    case 'FST_ERR_BAD_URL':
      return new ApiError('bad_url', 'the request path has invalid percent-encoding');
    case 'FST_ERR_MAX_PARAM_LENGTH':
      return new ApiError('uri_too_long', 'a path segment is too long');
    case 'FST_ERR_ASYNC_CONSTRAINT':
      return new ApiError('bad_request', 'bad request');
    default:
      if (e.statusCode === 413) return new ApiError('payload_too_large', `body over ${maxBodyBytes} bytes`);
      if (e.statusCode === 408) return new ApiError('request_timeout', 'the request did not arrive in time');
      if (e.statusCode === 415) return new ApiError('unsupported_media_type', 'the body must be application/json');
      return new ApiError('bad_request', `bad request${e.code !== undefined && /^[A-Z_]+$/.test(e.code) ? ` (${e.code})` : ''}`);
  }
}

/** application/json or any +json type, parameters allowed. */
export function isJsonContentType(ct: string | undefined): boolean {
  if (ct === undefined) return false;
  const type = ct.split(';')[0]!.trim().toLowerCase();
  return type === 'application/json' || /^application\/[a-z0-9.+-]+\+json$/.test(type);
}
