/**
 * One SMPP bind over one socket (ESME side): connect, bind, a request window for
 * submit_sm, per-request response timeouts, enquire_link on idle, answers to the SMSC's
 * requests, and a clean failure of everything in flight when the socket closes.
 *
 * The session only matches responses to requests (the cloudhopper shape); reconnecting,
 * choosing a bind and building PDUs from segments belong to BindPool.
 *
 * Protocol errors split in two:
 * - recoverable: a PDU with a good header we cannot decode gets an error resp (or
 *   generic_nack) and the bind stays up; an unknown command gets generic_nack;
 * - unrecoverable: a framing error (absurd command_length), an unanswered enquire_link,
 *   a socket error. The socket is closed and every request in flight fails at once.
 *
 * Over 400 lines on purpose: one state machine whose private state (pending requests,
 * writer, framer, timers) every method touches; split, that state would have to go public.
 */
import { EventEmitter } from 'node:events';
import net from 'node:net';
import tls from 'node:tls';
import { pino, type Logger } from 'pino';
import type { SubmitOutcome } from '../connector.js';
import {
  CommandId,
  commandName,
  encodeHeader,
  encodeMessageIdResp,
  encodePdu,
  encodeSubmitSm,
  fieldStr,
  isResponseId,
  type Pdu,
  type PduHeader,
  type SubmitSmFields,
} from './codec.js';
import { Status, statusName } from './command-status.js';
import { BindError, SmppError, type DecodeError } from './errors.js';
import { PduFramer } from './framing.js';
import { routePdu, undecodableAnswer, type InboundRoutes } from './inbound.js';
import { CoalescingWriter } from './writer.js';
import { ReadGate } from './read-gate.js';
import { PendingRequests, type PendingEntry } from './pending-requests.js';

import { monotonicNow, type MonotonicClock } from '../../domain/clock.js';
import type {
  BindMode,
  CloseReason,
  LateRespHandler,
  SessionCloseInfo,
  SessionEvents,
  SessionOptions,
  SessionState,
  SessionSubmitOutcome,
} from './session-types.js';

export type {
  BindMode,
  CloseReason,
  LateRespHandler,
  SessionCloseInfo,
  SessionEvents,
  SessionOptions,
  SessionState,
  SessionSubmitOutcome,
} from './session-types.js';

type Settle =
  | { type: 'resp'; status: number; pdu: Pdu | null; salvagedId?: string }
  | { type: 'timeout' }
  | { type: 'closed' }
  /** Something other than the expected resp carried this request's sequence number. */
  | { type: 'protocol'; command: string };

type Kind = 'submit' | 'bind' | 'enquire' | 'unbind';

/** deliver_sm awaiting our resp past which a bind stops reading (SMSC windows are 1-100 or so). */
export const MAX_UNANSWERED_DELIVERS = 2000;

interface Pending extends PendingEntry {
  kind: Kind;
  /** The command_id of the only response that settles this request. */
  expect: number;
  settle: (s: Settle) => void;
}

const RESP_OF: Record<Exclude<Kind, 'bind'>, number> = {
  submit: CommandId.submit_sm_resp,
  enquire: CommandId.enquire_link_resp,
  unbind: CommandId.unbind_resp,
};
const BIND_RESP: Record<BindMode, number> = {
  transceiver: CommandId.bind_transceiver_resp,
  transmitter: CommandId.bind_transmitter_resp,
  receiver: CommandId.bind_receiver_resp,
};

/** Longest message_id kept when salvaging a malformed one (SMPP 3.4 allows 64). */
const MAX_SALVAGED_ID = 255;

/**
 * The message_id of a submit_sm_resp whose body breaks the C-octet string rules (no NUL,
 * over 65 octets): the octets up to the first NUL or the end of the PDU. '' if none.
 */
export function salvageMessageId(buf: Buffer): string {
  const end = Math.min(buf.length, buf.readUInt32BE(0));
  const body = buf.subarray(16, Math.max(16, end));
  const nul = body.indexOf(0);
  const id = (nul >= 0 ? body.subarray(0, nul) : body).subarray(0, MAX_SALVAGED_ID);
  return id.toString('latin1');
}

const BIND_COMMAND: Record<BindMode, string> = {
  transceiver: 'bind_transceiver',
  transmitter: 'bind_transmitter',
  receiver: 'bind_receiver',
};

const MAX_SEQ = 0x7fffffff;

export class SmppSession extends EventEmitter<SessionEvents> {
  readonly options: Readonly<SessionOptions>;
  readonly #log: Logger;
  #state: SessionState = 'idle';
  #socket: net.Socket | null = null;
  #raw: net.Socket | null = null;
  #writer: CoalescingWriter | null = null;
  #gate: ReadGate | null = null;
  /** This connection's deliver_sm read and not yet answered (their commit is pending): a new connection starts at 0. */
  #delivers = { unanswered: 0 };
  readonly #framer = new PduFramer();
  #seq = 0;
  readonly #pending: PendingRequests<Pending>;
  #inFlight = 0;
  #idleTimer: NodeJS.Timeout | null = null;
  #lastRx = 0;
  #enquirePending = false;
  #closeReason: CloseReason | null = null;
  readonly #clock: MonotonicClock;
  /** submit_sm that timed out but whose resp may still come (seq → who wants it), oldest first. */
  readonly #late = new Map<number, LateRespHandler>();
  /** submit_sm timeouts since the last submit_sm_resp: a bind with one is suspect. */
  #consecutiveTimeouts = 0;
  #closeError: Error | undefined;
  #wasBound = false;
  #closedPromise: Promise<SessionCloseInfo>;
  #resolveClosed!: (i: SessionCloseInfo) => void;
  /** The SMSC's system_id from bind_resp. */
  peerSystemId = '';

  constructor(options: SessionOptions) {
    super();
    if (!(options.window >= 1)) throw new RangeError('window must be >= 1');
    this.options = Object.freeze({ ...options });
    this.#clock = options.clock ?? monotonicNow;
    this.#pending = new PendingRequests<Pending>({ clock: this.#clock, timeoutMs: options.responseTimeoutMs, onExpired: this.#expired });
    this.#log = (options.logger ?? pino({ level: 'silent' })).child({ bind: options.label ?? options.systemId });
    this.#closedPromise = new Promise((r) => (this.#resolveClosed = r));
  }

  get state(): SessionState {
    return this.#state;
  }
  get mode(): BindMode {
    return this.options.mode;
  }
  /** submit_sm awaiting their resp. */
  get inFlight(): number {
    return this.#inFlight;
  }
  get freeWindow(): number {
    return this.#state === 'bound' ? Math.max(0, this.#windowLimit() - this.#inFlight) : 0;
  }
  /** submit_sm timeouts in a row (reset by any submit_sm_resp, late ones included). */
  get consecutiveTimeouts(): number {
    return this.#consecutiveTimeouts;
  }
  /**
   * A bind whose last submit timed out is out of service: nothing more is sent on it while
   * it has submits in flight, then one at a time (a probe) until a resp comes back. So a
   * half-dead bind takes no new segments after its first timeout; its pool rebuilds it when
   * the timeouts in a row reach the carrier's limit.
   */
  #windowLimit(): number {
    // Overdue: the oldest request is past its deadline though its timeout is not declared yet
    // (a late timer, or the grace after a stall): the bind takes no segments meanwhile.
    return this.#consecutiveTimeouts > 0 || this.#pending.overdue() ? 1 : this.options.window;
  }
  /** socket.write calls so far (coalescing: many PDUs per write under load). */
  get writeCount(): number {
    return this.#writer?.writes ?? 0;
  }
  /** The socket PDUs go through (a TLSSocket over TLS). */
  get socket(): net.Socket | null {
    return this.#socket;
  }
  /** The TCP socket underneath (the same as `socket` without TLS); tests read TCP_NODELAY from it. */
  get tcpSocket(): net.Socket | null {
    return this.#raw;
  }
  /** Resolves once, when the socket has closed. */
  get closed(): Promise<SessionCloseInfo> {
    return this.#closedPromise;
  }
  get canTransmit(): boolean {
    return this.options.mode !== 'receiver';
  }
  /** Bound, transmitter-capable, a window slot free and the socket not backed up. */
  canSubmit(): boolean {
    return (
      this.#state === 'bound' &&
      this.options.mode !== 'receiver' &&
      this.#inFlight < this.#windowLimit() &&
      this.#writer !== null &&
      !this.#writer.blocked
    );
  }

  /** Connect and bind. Resolves when bound; rejects (and closes) on any failure. */
  async connect(): Promise<void> {
    if (this.#state !== 'idle') throw new SmppError('smpp_closed', 'a session connects once; build a new one');
    this.#state = 'connecting';
    await this.#openSocket();
    this.#state = 'binding';
    this.emit('connected');
    const o = this.options;
    const command = BIND_COMMAND[o.mode];
    const seq = this.#nextSeq();
    const pdu = encodePdu(command, seq, {
      system_id: o.systemId,
      password: o.password,
      system_type: o.systemType ?? '',
      interface_version: o.interfaceVersion ?? 0x34,
      addr_ton: o.addrTon ?? 0,
      addr_npi: o.addrNpi ?? 0,
      address_range: o.addressRange ?? '',
    });
    // The state changes inside the settle callback, synchronously: PDUs that follow the
    // bind_resp in the same read (held receipts, say) must find the session bound.
    const settle = await new Promise<Settle>((resolve) =>
      this.#track(seq, 'bind', pdu, (st) => {
        if (st.type === 'resp' && st.status === Status.ESME_ROK && this.#state === 'binding') {
          this.peerSystemId = st.pdu ? fieldStr(st.pdu, 'system_id') : '';
          this.#state = 'bound';
          this.#wasBound = true;
          this.#lastRx = this.#clock();
          this.#armIdle(o.enquireLinkMs);
          this.#log.info({ mode: o.mode, peer: this.peerSystemId }, 'smpp bound');
        }
        resolve(st);
      }),
    );
    if (settle.type === 'resp' && settle.status === Status.ESME_ROK) {
      if ((this.#state as SessionState) !== 'bound') throw this.#closedError();
      return;
    }
    if (settle.type === 'resp') {
      const err = new BindError(settle.status);
      this.close('bind_failed', err);
      throw err;
    }
    if (settle.type === 'timeout') {
      const err = new SmppError('smpp_bind_timeout', `no ${command}_resp within ${o.responseTimeoutMs} ms`);
      this.close('bind_timeout', err);
      throw err;
    }
    throw this.#closedError();
  }

  /**
   * Send one submit_sm. Answers `disconnected` if the session is not bound (or closes
   * before the resp), `timeout` after responseTimeoutMs, `protocol_error` when another PDU
   * type (or a submit_sm_resp without message_id) carries its sequence number. After a
   * timeout or protocol error the session keeps listening for the real resp while it is
   * open and hands it to `onLate`. The caller must respect the window: check canSubmit() first.
   */
  submit(fields: SubmitSmFields, onLate?: LateRespHandler): Promise<SessionSubmitOutcome> {
    if (this.#state !== 'bound' || this.options.mode === 'receiver') return Promise.resolve({ kind: 'disconnected' });
    if (this.#inFlight >= this.options.window) {
      return Promise.reject(new SmppError('smpp_window_full', 'window full: check canSubmit() before submit()'));
    }
    const seq = this.#nextSeq();
    let pdu: Buffer;
    try {
      pdu = encodeSubmitSm(seq, fields);
    } catch (e) {
      return Promise.reject(e as Error);
    }
    this.#inFlight++;
    return new Promise<SessionSubmitOutcome>((resolve) => {
      this.#track(seq, 'submit', pdu, (s) => {
        this.#inFlight--;
        if (s.type === 'timeout' || s.type === 'protocol') {
          if (s.type === 'timeout') this.#consecutiveTimeouts++;
          if (onLate !== undefined && this.#state !== 'closed') this.#keepLate(seq, onLate);
          resolve(s.type === 'timeout' ? { kind: 'timeout' } : { kind: 'protocol_error', command: s.command });
        } else if (s.type === 'closed') resolve({ kind: 'disconnected' });
        else {
          this.#consecutiveTimeouts = 0;
          resolve(submitOutcomeOf(s));
        }
        if (this.#state === 'bound') this.emit('free');
      });
    });
  }

  #keepLate(seq: number, onLate: LateRespHandler): void {
    this.#late.set(seq, onLate);
    // Bounded: an SMSC that never answers must not grow this for ever.
    const cap = Math.max(64, this.options.window * 4);
    if (this.#late.size > cap) this.#late.delete(this.#late.keys().next().value!);
  }

  /** A submit_sm_resp for a submit that timed out: settle it through its late handler. */
  #onLateResp(seq: number, status: number, messageId: string): boolean {
    const late = this.#late.get(seq);
    if (late === undefined) return false;
    this.#late.delete(seq);
    this.#consecutiveTimeouts = 0;
    this.#log.info({ seq, status: statusName(status) }, 'smpp submit_sm_resp after its timeout');
    if (status !== Status.ESME_ROK) late({ kind: 'rejected', commandStatus: status, statusName: statusName(status) });
    else if (messageId !== '') late({ kind: 'accepted', carrierMessageId: messageId });
    return true;
  }

  /** Send unbind, wait for unbind_resp (at most timeoutMs), close. */
  async unbind(timeoutMs = this.options.responseTimeoutMs): Promise<void> {
    if (this.#state !== 'bound') {
      this.close('unbound');
      return;
    }
    this.#state = 'unbinding';
    const seq = this.#nextSeq();
    const t = setTimeout(() => this.close('unbound'), timeoutMs);
    await this.#request(seq, 'unbind', encodeHeader(CommandId.unbind, 0, seq));
    clearTimeout(t);
    this.#endSocket('unbound');
    await this.#closedPromise;
  }

  /** Close the socket now; everything in flight fails (`disconnected`). Idempotent. */
  close(reason: CloseReason = 'closed_by_owner', error?: Error): void {
    if (this.#closeReason === null) {
      this.#closeReason = reason;
      this.#closeError = error;
    }
    this.#writer?.close();
    if (this.#socket && !this.#socket.destroyed) this.#socket.destroy();
    else this.#finalize();
  }

  // ---- socket ----------------------------------------------------------------------------

  #openSocket(): Promise<void> {
    const o = this.options;
    return new Promise<void>((resolve, reject) => {
      const raw = o.socket ?? net.connect({ host: o.host, port: o.port, noDelay: true });
      raw.setNoDelay(true);
      this.#raw = raw;
      let sock: net.Socket = raw;
      if (o.tls && o.socket === undefined) {
        const extra = typeof o.tls === 'object' ? o.tls : {};
        sock = tls.connect({ socket: raw, servername: net.isIP(o.host) ? undefined : o.host, ...extra });
      }
      this.#socket = sock;
      this.#gate = new ReadGate(sock);
      this.#delivers = { unanswered: 0 };
      this.#writer = new CoalescingWriter(sock, () => this.emit('free'), { readable: this.#gate.forReason('output') });
      const timer = setTimeout(() => {
        this.close('connect_timeout', new SmppError('smpp_connect_timeout', `connect to ${o.host}:${o.port} timed out`));
      }, o.connectTimeoutMs ?? o.responseTimeoutMs);
      const onUp = (): void => {
        clearTimeout(timer);
        sock.off('close', onEarlyClose);
        resolve();
      };
      const onEarlyClose = (): void => {
        clearTimeout(timer);
        reject(this.#closedError());
      };
      if (o.socket !== undefined) setImmediate(() => (sock.destroyed ? onEarlyClose() : onUp()));
      else sock.once(o.tls ? 'secureConnect' : 'connect', onUp);
      sock.once('close', onEarlyClose);
      sock.on('error', (e) => {
        if (this.#closeReason === null) {
          this.#closeReason = this.#state === 'connecting' ? 'connect_failed' : 'socket_error';
          this.#closeError = e;
        }
        this.#log.warn({ err: e.message, code: (e as NodeJS.ErrnoException).code }, 'smpp socket error');
      });
      sock.on('close', () => this.#finalize());
      sock.on('end', () => {
        if (this.#closeReason === null) this.#closeReason = 'peer_closed';
        sock.destroy();
      });
      sock.on('data', (chunk: Buffer) => this.#onData(chunk));
    });
  }

  #endSocket(reason: CloseReason): void {
    if (this.#closeReason === null) this.#closeReason = reason;
    this.#writer?.flush();
    this.#writer?.close();
    const s = this.#socket;
    if (!s || s.destroyed) return this.#finalize();
    s.end();
    // A peer that never closes its half must not keep us waiting.
    setTimeout(() => s.destroy(), 1000).unref();
  }

  #closedError(): SmppError {
    const r = this.#closeReason ?? 'peer_closed';
    if (this.#closeError instanceof SmppError) return this.#closeError;
    const code = r === 'connect_failed' ? 'smpp_connect_failed' : r === 'connect_timeout' ? 'smpp_connect_timeout' : 'smpp_closed';
    return new SmppError(code, `session closed (${r})${this.#closeError ? `: ${this.#closeError.message}` : ''}`);
  }

  #finalize(): void {
    if (this.#state === 'closed') return;
    const wasState = this.#state;
    this.#state = 'closed';
    if (this.#idleTimer) clearTimeout(this.#idleTimer);
    this.#idleTimer = null;
    this.#writer?.close();
    const pending = this.#pending.close();
    this.#late.clear();
    for (const p of pending) p.settle({ type: 'closed' });
    const info: SessionCloseInfo = {
      reason: this.#closeReason ?? 'peer_closed',
      wasBound: this.#wasBound,
      ...(this.#closeError ? { error: this.#closeError } : {}),
    };
    const level = info.reason === 'unbound' || info.reason === 'closed_by_owner' ? 'info' : 'warn';
    this.#log[level]({ reason: info.reason, state: wasState, failedInFlight: pending.length }, 'smpp session closed');
    this.#resolveClosed(info);
    this.emit('close', info);
  }

  // ---- requests and the window -------------------------------------------------------------

  #nextSeq(): number {
    do this.#seq = this.#seq >= MAX_SEQ ? 1 : this.#seq + 1;
    while (this.#pending.has(this.#seq) || this.#late.has(this.#seq));
    return this.#seq;
  }

  #request(seq: number, kind: Kind, pdu: Buffer): Promise<Settle> {
    return new Promise<Settle>((settle) => this.#track(seq, kind, pdu, settle));
  }

  /** Register a request in the window (with its deadline) and queue its PDU. */
  #track(seq: number, kind: Kind, pdu: Buffer, settle: (s: Settle) => void): void {
    const expect = kind === 'bind' ? BIND_RESP[this.options.mode] : RESP_OF[kind];
    this.#pending.add({ seq, kind, expect, settle, deadline: 0, graceUntil: 0 });
    this.#writer!.push(pdu);
  }

  /** A request's response timeout, declared: false when it closed the session. */
  readonly #expired = (p: Pending): boolean => {
    this.#log.warn({ seq: p.seq, kind: p.kind, timeoutMs: this.options.responseTimeoutMs, ...(p.graceUntil > 0 ? { afterStall: true } : {}) }, 'smpp response timeout');
    p.settle({ type: 'timeout' });
    if (p.kind === 'enquire') {
      this.#enquirePending = false;
      this.close('enquire_link_timeout', new SmppError('smpp_enquire_link_timeout', 'enquire_link not answered'));
      return false;
    }
    return this.#state !== 'closed';
  };

  // ---- enquire_link on idle ------------------------------------------------------------------

  #armIdle(ms: number): void {
    if (this.#idleTimer) clearTimeout(this.#idleTimer);
    this.#idleTimer = setTimeout(this.#onIdleTimer, Math.max(1, ms));
  }

  readonly #onIdleTimer = (): void => {
    this.#idleTimer = null;
    if (this.#state !== 'bound') return;
    const every = this.options.enquireLinkMs;
    const idle = this.#clock() - this.#lastRx;
    if (idle < every) return this.#armIdle(every - idle);
    if (!this.#enquirePending) {
      this.#enquirePending = true;
      const seq = this.#nextSeq();
      void this.#request(seq, 'enquire', encodeHeader(CommandId.enquire_link, 0, seq)).then(() => {
        this.#enquirePending = false;
      });
    }
    this.#armIdle(every);
  };

  // ---- inbound -------------------------------------------------------------------------------

  #onData(chunk: Buffer): void {
    let pdus: Buffer[];
    try {
      pdus = this.#framer.push(chunk);
    } catch (e) {
      this.#log.error({ err: (e as Error).message }, 'smpp framing error: closing this bind');
      this.close('framing_error', e as Error);
      return;
    }
    if (pdus.length > 0) this.#lastRx = this.#clock();
    for (const buf of pdus) {
      if (this.#state === 'closed') return;
      try {
        this.#onPdu(buf);
      } catch (e) {
        this.#log.error({ err: (e as Error).message }, 'smpp: error handling a PDU');
      }
    }
  }

  #onPdu(buf: Buffer): void {
    routePdu(buf, this.#routes);
  }

  readonly #routes: InboundRoutes = {
    request: (p) => this.#onRequest(p),
    response: (p) => this.#onResponse(p),
    undecodable: (e, head, buf) => this.#onDecodeError(e, head, buf),
  };

  #onResponse(pdu: Pdu): void {
    const seq = pdu.sequenceNumber;
    const p = this.#pending.get(seq);
    if (!p) {
      if (pdu.commandId === CommandId.submit_sm_resp && this.#onLateResp(seq, pdu.commandStatus, fieldStr(pdu, 'message_id'))) return;
      this.#log.debug({ command: pdu.command, seq }, 'smpp resp for no pending request (late or unknown)');
      return;
    }
    // Matched by type as well as sequence number: an enquire_link_resp or a generic_nack
    // carrying a submit's sequence number is not an acceptance.
    if (pdu.commandId !== p.expect) {
      this.#pending.delete(seq);
      if (p.kind !== 'submit' && pdu.commandId === CommandId.generic_nack) {
        p.settle({ type: 'resp', status: pdu.commandStatus || Status.ESME_RSYSERR, pdu: null });
        return;
      }
      this.#protocolError(p, pdu.command === 'unknown' ? `0x${pdu.commandId.toString(16)}` : pdu.command);
      return;
    }
    if (p.kind === 'submit' && pdu.commandStatus === Status.ESME_ROK && fieldStr(pdu, 'message_id') === '') {
      // Accepted, says the status, but with nothing to match a receipt to: not trusted.
      this.#pending.delete(seq);
      this.#protocolError(p, 'submit_sm_resp');
      return;
    }
    this.#pending.delete(seq);
    p.settle({ type: 'resp', status: pdu.commandStatus, pdu });
  }

  #protocolError(p: Pending, command: string): void {
    this.#log.warn({ seq: p.seq, request: p.kind, command }, 'smpp protocol error: response does not fit its request');
    this.emit('protocolError', command);
    // A submit is retried by the pool; for the others any answer is an answer, just not a good one.
    if (p.kind === 'submit') p.settle({ type: 'protocol', command });
    else p.settle({ type: 'resp', status: p.kind === 'enquire' ? Status.ESME_ROK : Status.ESME_RSYSERR, pdu: null });
  }

  #onRequest(pdu: Pdu): void {
    const seq = pdu.sequenceNumber;
    switch (pdu.commandId) {
      case CommandId.enquire_link:
        this.#send(encodeHeader(CommandId.enquire_link_resp, 0, seq));
        return;
      case CommandId.unbind:
        this.#log.info('smpp peer sent unbind');
        this.#send(encodeHeader(CommandId.unbind_resp, 0, seq));
        this.#state = 'unbinding';
        this.#endSocket('peer_unbind');
        return;
      case CommandId.deliver_sm:
        this.#onDeliver(pdu);
        return;
      case CommandId.alert_notification:
      case CommandId.outbind:
        this.#log.debug({ command: pdu.command }, 'smpp request without a resp ignored');
        return;
      default: {
        const status = pdu.command === 'unknown' ? Status.ESME_RINVCMDID : Status.ESME_RINVBNDSTS;
        this.#log.warn({ command: pdu.command, commandId: pdu.commandId, seq }, 'smpp unexpected request: generic_nack');
        this.#send(encodeHeader(CommandId.generic_nack, status, seq));
      }
    }
  }

  #onDeliver(pdu: Pdu): void {
    const seq = pdu.sequenceNumber;
    let acked = false;
    // An SMSC that sends deliver_sm without waiting for our resps (no window) would pile up
    // receipts waiting for their commit: past MAX_UNANSWERED_DELIVERS the bind stops reading
    // until half of them are answered.
    const gate = this.#gate;
    const delivers = this.#delivers;
    if (++delivers.unanswered >= MAX_UNANSWERED_DELIVERS) gate?.hold('delivers');
    const ack = (status = 0): void => {
      if (acked) return;
      acked = true;
      if (--delivers.unanswered <= MAX_UNANSWERED_DELIVERS / 2) gate?.release('delivers');
      if (this.#state !== 'closed') this.#send(encodeMessageIdResp(CommandId.deliver_sm_resp, status, seq));
    };
    if (this.listenerCount('deliver') === 0) {
      // Nobody can commit it: ask the SMSC to retry later rather than lose it.
      ack(0x64 /* ESME_RX_T_APPN */);
      return;
    }
    this.emit('deliver', pdu, ack);
  }

  #onDecodeError(err: DecodeError, head: PduHeader, buf: Buffer): void {
    if (head.commandId === CommandId.submit_sm_resp && head.commandStatus === Status.ESME_ROK) {
      // Accepted with a malformed message_id (no NUL, over 65 octets): the SMSC took the
      // message, so treating it as an error would send a second SMS. Keep what id there is.
      const id = salvageMessageId(buf);
      const seq = head.sequenceNumber;
      const p = this.#pending.get(seq);
      if (id !== '' && (p?.kind === 'submit' || (p === undefined && this.#late.has(seq)))) {
        this.emit('malformedMessageId');
        this.#log.warn({ seq, idLength: id.length }, 'smpp submit_sm_resp with a malformed message_id: accepted, id salvaged');
        if (p === undefined) this.#onLateResp(seq, Status.ESME_ROK, id);
        else {
          this.#pending.delete(seq);
          p.settle({ type: 'resp', status: Status.ESME_ROK, pdu: null, salvagedId: id });
        }
        return;
      }
    }
    this.emit('decodeError', err);
    this.#log.warn({ command: commandName(head.commandId), seq: head.sequenceNumber, status: statusName(err.status) }, 'smpp PDU could not be decoded');
    if (isResponseId(head.commandId)) {
      const p = this.#pending.get(head.sequenceNumber);
      if (p) {
        this.#pending.delete(head.sequenceNumber);
        p.settle({ type: 'resp', status: head.commandStatus || Status.ESME_RSYSERR, pdu: null });
      }
      return;
    }
    this.#send(undecodableAnswer(err, head));
  }

  #send(pdu: Buffer): void {
    this.#writer?.push(pdu);
  }
}

function submitOutcomeOf(s: Extract<Settle, { type: 'resp' }>): SubmitOutcome {
  if (s.status !== Status.ESME_ROK) return { kind: 'rejected', commandStatus: s.status, statusName: statusName(s.status) };
  return { kind: 'accepted', carrierMessageId: s.salvagedId ?? (s.pdu ? fieldStr(s.pdu, 'message_id') : '') };
}
