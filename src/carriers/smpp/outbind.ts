/**
 * Outbind (SPEC 8, SMPP 3.4 §4.1.7): a carrier marked `outbind` connects to the gateway
 * and sends outbind with the system_id and password configured for it; the gateway then
 * binds as receiver on that same connection. The session is an ordinary SmppSession
 * handed the accepted socket, so its receipts and replies come out as the bind pool's do
 * (InboundDeliver, answered after commit) and go through the same results path.
 */
import type net from 'node:net';
import type { Logger } from 'pino';
import type { CarrierConfig } from '../../config/schema.js';
import { secretEquals } from '../../domain/secret-equals.js';
import type { InboundDeliver } from '../connector.js';
import { fieldStr, type Pdu } from './codec.js';
import { toInboundDeliver } from './pdu-mapping.js';
import { SmppSession } from './session.js';

/** bindIndex of deliveries that came over an outbind connection (logs, metrics). */
export const OUTBIND_BIND_INDEX = 99;

export interface OutbindOptions {
  carriers: () => readonly CarrierConfig[];
  logger: Logger;
  onDeliver: (ev: InboundDeliver) => void;
  /** A carrier's outbind was refused or its receiver bind failed (metrics). */
  onRefused?: (carrierId: string, reason: string) => void;
}

export class OutbindAcceptor {
  readonly #o: OutbindOptions;
  readonly #sessions = new Set<SmppSession>();

  constructor(o: OutbindOptions) {
    this.#o = o;
  }

  /** Sessions bound (or binding) over outbind connections. */
  get sessions(): ReadonlySet<SmppSession> {
    return this.#sessions;
  }

  /** The outbind PDU arrived on `socket`: bind as receiver on it (true) or refuse (false: close it). */
  accept(socket: net.Socket, pdu: Pdu): boolean {
    const systemId = fieldStr(pdu, 'system_id');
    const carrier = this.#o.carriers().find((c) => c.outbind && c.system_id === systemId);
    // Compared even when no carrier matches, so timing does not tell which system_ids exist.
    const passwordOk = secretEquals(fieldStr(pdu, 'password'), carrier?.password ?? '\u0000no carrier');
    if (carrier === undefined || !passwordOk) {
      const reason = carrier === undefined ? 'no carrier with outbind for this system_id' : 'wrong password';
      this.#o.logger.warn({ ip: socket.remoteAddress, reason }, 'smpp outbind refused');
      this.#o.onRefused?.(carrier?.id ?? 'unknown', reason);
      return false;
    }
    const session = new SmppSession({
      host: socket.remoteAddress ?? carrier.host,
      port: socket.remotePort ?? carrier.port,
      socket,
      mode: 'receiver',
      systemId: carrier.system_id,
      password: carrier.password,
      systemType: carrier.system_type,
      window: 1,
      responseTimeoutMs: carrier.response_timeout_s * 1000,
      enquireLinkMs: carrier.enquire_link_s * 1000,
      logger: this.#o.logger,
      label: `${carrier.id}#outbind`,
    });
    this.#sessions.add(session);
    session.on('deliver', (p, ack) => this.#o.onDeliver(toInboundDeliver(carrier.id, OUTBIND_BIND_INDEX, p, ack)));
    session.on('close', () => this.#sessions.delete(session));
    session.connect().then(
      () => this.#o.logger.info({ carrier: carrier.id }, 'smpp outbind: bound as receiver'),
      (err: Error) => {
        this.#o.logger.warn({ carrier: carrier.id, err: err.message }, 'smpp outbind: receiver bind failed');
        this.#o.onRefused?.(carrier.id, 'bind_failed');
      },
    );
    return true;
  }

  /** Unbind every outbind session (drain). */
  async stop(graceMs: number): Promise<void> {
    await Promise.all([...this.#sessions].map((s) => s.unbind(graceMs).catch(() => undefined)));
  }
}
