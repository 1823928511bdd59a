/**
 * The SMPP server's socket (SPEC 8): plain TCP or TLS, one ServerSession per connection,
 * and the bound sessions by account so receipts know where to go.
 */
import { readFileSync } from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';
import type { Logger } from 'pino';
import { LogLimiter } from '../observability/log-limiter.js';
import type { SmppServerConfig } from './accounts.js';
import { ServerSession, type ServerCloseReason, type ServerSessionHooks } from './server-session.js';

export interface ListenerOptions {
  config: () => SmppServerConfig;
  hooks: ServerSessionHooks;
  logger: Logger;
  /** A connection closed (after bind or not). */
  closed: (s: ServerSession, reason: ServerCloseReason) => void;
}

export class SmppListener {
  readonly #o: ListenerOptions;
  readonly #all = new Set<ServerSession>();
  #server: net.Server | undefined;
  // A connection flood past the limit is one warning per interval; the metric counts each.
  readonly #limitLog: LogLimiter;

  constructor(o: ListenerOptions) {
    this.#o = o;
    this.#limitLog = new LogLimiter(o.logger);
  }

  get connections(): ReadonlySet<ServerSession> {
    return this.#all;
  }

  async start(): Promise<number> {
    const cfg = this.#o.config();
    const onSocket = (socket: net.Socket) => this.#accept(socket);
    const server = cfg.tls
      ? tls.createServer({ cert: readFileSync(cfg.tls_cert!), key: readFileSync(cfg.tls_key!) }, onSocket)
      : net.createServer(onSocket);
    // A TLS handshake that fails is that client's problem, not the server's.
    server.on('tlsClientError', (err: Error) => this.#o.logger.warn({ err: err.message }, 'smpp server: TLS handshake failed'));
    this.#server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(cfg.port, cfg.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    server.on('error', (err) => this.#o.logger.error({ err: err.message }, 'smpp server: listener error'));
    return (server.address() as net.AddressInfo).port;
  }

  /** Stop accepting, unbind every session, wait for them to close (at most graceMs). */
  async stop(graceMs: number): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    const closing = server === undefined ? Promise.resolve() : new Promise<void>((r) => server.close(() => r()));
    const sessions = [...this.#all];
    const gone = sessions.map((s) => (s.state === 'closed' ? Promise.resolve() : new Promise<void>((r) => s.once('close', () => r()))));
    for (const s of sessions) s.stop();
    const timer = new Promise<void>((r) => setTimeout(r, graceMs).unref());
    await Promise.race([Promise.all(gone), timer]);
    for (const s of sessions) s.close('server_stop');
    await closing;
  }

  #accept(socket: net.Socket): void {
    const cfg = this.#o.config();
    // No more connections may wait for their bind than could ever bind: past that a peer
    // (or a reconnect loop gone wrong) would only be holding file descriptors.
    let unbound = 0;
    for (const s of this.#all) if (s.state === 'open') unbound++;
    const session = new ServerSession({
      socket,
      hooks: this.#o.hooks,
      idleTimeoutMs: cfg.idle_timeout_s * 1000,
      bindTimeoutMs: cfg.bind_timeout_s * 1000,
      responseTimeoutMs: cfg.response_timeout_s * 1000,
      logger: this.#o.logger,
    });
    this.#all.add(session);
    session.once('close', (reason) => {
      this.#all.delete(session);
      this.#o.closed(session, reason);
    });
    if (unbound >= cfg.max_binds) {
      this.#limitLog.warn('unbound', { ip: session.ip, unbound }, 'smpp server: too many connections waiting to bind, closed');
      session.close('unbound_limit');
    }
  }
}
