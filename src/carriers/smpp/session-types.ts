/** The public shapes of an SmppSession: options, states, close reasons, events. */
import type net from 'node:net';
import type tls from 'node:tls';
import type { Logger } from 'pino';
import type { Pdu } from './codec.js';
import type { DecodeError } from './errors.js';

export type BindMode = 'transceiver' | 'transmitter' | 'receiver';
export type SessionState = 'idle' | 'connecting' | 'binding' | 'bound' | 'unbinding' | 'closed';

/** Why a session closed: what the pool logs and decides its backoff by. */
export type CloseReason =
  | 'connect_failed'
  | 'connect_timeout'
  | 'bind_failed'
  | 'bind_timeout'
  | 'framing_error'
  | 'enquire_link_timeout'
  | 'peer_unbind'
  | 'peer_closed'
  | 'socket_error'
  | 'unbound'
  | 'closed_by_owner';

export interface SessionOptions {
  host: string;
  port: number;
  /** true (verify the peer) or node:tls options; absent/false = plain TCP. */
  tls?: boolean | tls.ConnectionOptions;
  mode: BindMode;
  systemId: string;
  password: string;
  systemType?: string;
  /** 0x34 = SMPP 3.4 (default). */
  interfaceVersion?: number;
  addrTon?: number;
  addrNpi?: number;
  addressRange?: string;
  /** Most submit_sm awaiting their resp at once. */
  window: number;
  /** A request (submit, bind, enquire_link, unbind) without a resp by then fails. */
  responseTimeoutMs: number;
  /** Send enquire_link when nothing has been received for this long. */
  enquireLinkMs: number;
  /**
   * A socket already connected (a carrier's outbind: it dialled us): bind on it instead of
   * connecting; host and port then only name the peer in logs, and `tls` is ignored.
   */
  socket?: net.Socket;
  /** TCP (+TLS) connect deadline; defaults to responseTimeoutMs. */
  connectTimeoutMs?: number;
  logger?: Logger;
  /** For log lines, e.g. `carrierA#1`. */
  label?: string;
}

export interface SessionCloseInfo {
  reason: CloseReason;
  error?: Error;
  wasBound: boolean;
}

export interface SessionEvents {
  /** TCP (and TLS) is up; bind_* is on its way. */
  connected: [];
  /** A deliver_sm (receipt or MO). Call ack(status) once to send deliver_sm_resp. */
  deliver: [pdu: Pdu, ack: (commandStatus?: number) => void];
  /** A window slot freed or the socket drained: submits may resume. */
  free: [];
  /** A PDU the session could not decode (answered with an error status, bind kept). */
  decodeError: [err: DecodeError];
  close: [info: SessionCloseInfo];
}
