/** The public shapes of an SmppSession: options, states, close reasons, events. */
import type net from 'node:net';
import type tls from 'node:tls';
import type { Logger } from 'pino';
import type { Pdu } from './codec.js';
import type { DecodeError } from './errors.js';
import type { MonotonicClock } from '../../domain/clock.js';
import type { SubmitOutcome } from '../connector.js';

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
  /** Measures response deadlines and idle time; default the process's monotonic clock. */
  clock?: MonotonicClock;
}

/**
 * What one submit_sm on one session came to. Beyond the connector's outcomes: a PDU that
 * carried the submit's sequence number but was not a usable submit_sm_resp (another command
 * type, or status 0 without a message_id). The pool retries those.
 */
export type SessionSubmitOutcome = SubmitOutcome | { kind: 'protocol_error'; command: string };

/**
 * Called with the resp of a submit that had already timed out (the session keeps listening
 * for it while it is open): the caller may still settle the segment with it.
 */
export type LateRespHandler = (o: Extract<SubmitOutcome, { kind: 'accepted' | 'rejected' }>) => void;

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
  /** A response that did not fit its request (wrong command type, no message_id): the command seen. */
  protocolError: [command: string];
  /** A submit_sm_resp with status 0 whose message_id was malformed but salvaged. */
  malformedMessageId: [];
  close: [info: SessionCloseInfo];
}
