/**
 * One accepted SMPP connection, SMSC side (SPEC 8): answers bind_*, submit_sm,
 * enquire_link and unbind from a downstream ESME, and sends it deliver_sm (receipts,
 * replies) within a window, each awaiting its resp for at most responseTimeoutMs.
 *
 * Built from the client side's pieces: PduFramer cuts the stream, decodePdu/encode* are
 * the codec, CoalescingWriter batches writes per tick. What the session decides is only
 * protocol (state, sequence numbers, windows, timeouts); who may bind and what a submit
 * becomes are the hooks' business.
 *
 * A framing error (absurd command_length, garbage) closes this connection only; a PDU
 * with a good header that does not decode gets an error resp (or generic_nack) and the
 * bind stays; an unknown command id gets generic_nack.
 */
import { EventEmitter } from 'node:events';
import type net from 'node:net';
import type { Logger } from 'pino';
import { CommandId, commandName, encodeHeader, encodeMessageIdResp, encodePdu, encodeShortMessagePdu, fieldStr, isResponseId, responseIdFor, type Pdu, type PduHeader, type SubmitSmFields } from '../carriers/smpp/codec.js';
import { Status, statusName } from '../carriers/smpp/command-status.js';
import type { DecodeError } from '../carriers/smpp/errors.js';
import { routePdu, undecodableAnswer, type InboundRoutes } from '../carriers/smpp/inbound.js';
import { PduFramer } from '../carriers/smpp/framing.js';
import type { BindMode } from '../carriers/smpp/session-types.js';
import { CoalescingWriter } from '../carriers/smpp/writer.js';
import type { BindVerdict, SmppAccount } from './accounts.js';

export type ServerCloseReason = 'unbind' | 'idle' | 'bind_timeout' | 'unbound_limit' | 'framing_error' | 'bind_refused' | 'peer_closed' | 'socket_error' | 'server_stop' | 'outbind';

export interface SubmitAnswer {
  status: number;
  messageId?: string;
}

export interface ServerSessionHooks {
  bind(req: { mode: BindMode; systemId: string; password: string; ip: string }): BindVerdict;
  /** A bound session: the forwarder may start sending it deliver_sm. */
  bound(s: ServerSession): void;
  /** submit_sm on a transmitter or transceiver bind; resolves with the resp to send. */
  submit(s: ServerSession, pdu: Pdu): Promise<SubmitAnswer>;
  /** A carrier's outbind as the first PDU: take the socket (true) or refuse it (false). */
  outbind?(socket: net.Socket, pdu: Pdu): boolean;
  /** Counts for metrics: a PDU received, by command. */
  received?(s: ServerSession, command: string): void;
}

export interface ServerSessionOptions {
  socket: net.Socket;
  hooks: ServerSessionHooks;
  idleTimeoutMs: number;
  /** A connection still unbound after this is closed, whatever it sends meanwhile (SMPP's session_init_timer). */
  bindTimeoutMs: number;
  responseTimeoutMs: number;
  logger: Logger;
}

export type DeliverResult = 'ok' | 'refused' | 'timeout' | 'closed';

interface AwaitingResp {
  timer: NodeJS.Timeout;
  done: (r: DeliverResult) => void;
}

const BIND_MODES = new Map<number, BindMode>([
  [CommandId.bind_transmitter, 'transmitter'],
  [CommandId.bind_receiver, 'receiver'],
  [CommandId.bind_transceiver, 'transceiver'],
]);
const SERVER_SYSTEM_ID = 'xinge';
const MAX_SEQ = 0x7fffffff;

export class ServerSession extends EventEmitter<{ close: [reason: ServerCloseReason]; free: [] }> {
  readonly ip: string;
  readonly #o: ServerSessionOptions;
  readonly #socket: net.Socket;
  readonly #writer: CoalescingWriter;
  readonly #framer = new PduFramer();
  readonly #awaiting = new Map<number, AwaitingResp>();
  #log: Logger;
  #state: 'open' | 'bound' | 'closed' = 'open';
  #mode: BindMode | undefined;
  #account: SmppAccount | undefined;
  #submitsOpen = 0;
  #seq = 0;
  #idle: NodeJS.Timeout | undefined;
  #bindTimer: NodeJS.Timeout | undefined;
  #closeReason: ServerCloseReason | undefined;

  constructor(o: ServerSessionOptions) {
    super();
    this.#o = o;
    this.#socket = o.socket;
    this.ip = o.socket.remoteAddress ?? '';
    this.#log = o.logger;
    o.socket.setNoDelay(true);
    this.#writer = new CoalescingWriter(o.socket, () => this.emit('free'), { readable: o.socket });
    o.socket.on('data', this.#onData);
    o.socket.on('error', this.#onError);
    o.socket.on('end', this.#onEnd);
    o.socket.on('close', this.#onClose);
    this.#touch();
    // enquire_link keeps a connection from going idle, not from binding: without this a peer
    // could hold connections (and file descriptors) for ever without ever binding.
    this.#bindTimer = setTimeout(() => {
      this.#log.info({ ip: this.ip }, 'smpp server: no bind in time, connection closed');
      this.close('bind_timeout');
    }, o.bindTimeoutMs);
  }

  get state(): 'open' | 'bound' | 'closed' {
    return this.#state;
  }
  get mode(): BindMode | undefined {
    return this.#mode;
  }
  get account(): SmppAccount | undefined {
    return this.#account;
  }
  /** Bound as receiver or transceiver: deliver_sm may go to it. */
  get canReceive(): boolean {
    return this.#state === 'bound' && this.#mode !== 'transmitter';
  }
  /** deliver_sm it may take now (its window less those awaiting a resp). */
  get freeWindow(): number {
    if (!this.canReceive || this.#writer.blocked) return 0;
    return Math.max(0, (this.#account?.window ?? 1) - this.#awaiting.size);
  }

  /** Send one deliver_sm; resolves with its outcome. Check freeWindow first. */
  deliver(fields: SubmitSmFields): Promise<DeliverResult> {
    if (!this.canReceive) return Promise.resolve('closed');
    const seq = this.#nextSeq();
    const pdu = encodeShortMessagePdu(CommandId.deliver_sm, seq, fields);
    return new Promise<DeliverResult>((resolve) => {
      const timer = setTimeout(() => this.#settle(seq, 'timeout'), this.#o.responseTimeoutMs);
      this.#awaiting.set(seq, { timer, done: resolve });
      this.#writer.push(pdu);
    });
  }

  /** Send unbind and close (server stopping); the peer's unbind_resp is not waited for long. */
  stop(): void {
    if (this.#state === 'bound') {
      this.#writer.push(encodeHeader(CommandId.unbind, 0, this.#nextSeq()));
    }
    this.#end('server_stop');
  }

  /** Close now. */
  close(reason: ServerCloseReason): void {
    this.#closeReason ??= reason;
    this.#writer.close();
    if (!this.#socket.destroyed) this.#socket.destroy();
  }

  // ---- inbound --------------------------------------------------------------------------

  readonly #onData = (chunk: Buffer): void => {
    let pdus: Buffer[];
    try {
      pdus = this.#framer.push(chunk);
    } catch (e) {
      this.#log.warn({ err: (e as Error).message, ip: this.ip }, 'smpp server: framing error, closing this connection');
      this.close('framing_error');
      return;
    }
    if (pdus.length > 0) this.#touch();
    for (const buf of pdus) {
      if (this.#state === 'closed') return;
      routePdu(buf, this.#routes);
    }
  };

  readonly #routes: InboundRoutes = {
    request: (p) => {
      this.#o.hooks.received?.(this, p.command);
      this.#onRequest(p);
    },
    response: (p) => {
      this.#o.hooks.received?.(this, p.command);
      this.#onResponse(p);
    },
    undecodable: (err: DecodeError, head: PduHeader) => {
      this.#log.warn({ command: commandName(head.commandId), status: statusName(err.status) }, 'smpp server: PDU could not be decoded');
      if (isResponseId(head.commandId)) this.#settle(head.sequenceNumber, 'refused');
      else this.#writer.push(undecodableAnswer(err, head));
    },
  };

  #onResponse(pdu: Pdu): void {
    if (pdu.commandId === CommandId.deliver_sm_resp || pdu.commandId === CommandId.generic_nack) {
      this.#settle(pdu.sequenceNumber, pdu.commandStatus === Status.ESME_ROK ? 'ok' : 'refused');
    }
    // unbind_resp, enquire_link_resp: nothing waits for them.
  }

  #onRequest(pdu: Pdu): void {
    const seq = pdu.sequenceNumber;
    const mode = BIND_MODES.get(pdu.commandId);
    if (mode !== undefined) return this.#onBind(pdu, mode);
    switch (pdu.commandId) {
      case CommandId.enquire_link:
        return this.#writer.push(encodeHeader(CommandId.enquire_link_resp, 0, seq));
      case CommandId.unbind:
        this.#writer.push(encodeHeader(CommandId.unbind_resp, 0, seq));
        return this.#end('unbind');
      case CommandId.outbind:
        if (this.#state === 'open' && this.#o.hooks.outbind !== undefined) return this.#handOver(pdu);
        break;
      case CommandId.submit_sm:
        return this.#onSubmit(pdu);
    }
    const respId = responseIdFor(pdu.commandId);
    if (respId === undefined) {
      // Unknown command id (or one without a resp): generic_nack, the bind stays.
      this.#writer.push(encodeHeader(CommandId.generic_nack, Status.ESME_RINVCMDID, seq));
      return;
    }
    // A known command this server does not offer (data_sm, query_sm, submit_multi …), or any
    // request before bind: its own resp with the reason.
    const status = this.#state === 'bound' ? Status.ESME_RINVCMDID : Status.ESME_RINVBNDSTS;
    this.#writer.push(encodeHeader(respId, status, seq));
  }

  #onBind(pdu: Pdu, mode: BindMode): void {
    const respId = responseIdFor(pdu.commandId)!;
    if (this.#state !== 'open') {
      this.#writer.push(encodeHeader(respId, Status.ESME_RALYBND, pdu.sequenceNumber));
      return;
    }
    const systemId = fieldStr(pdu, 'system_id');
    const verdict = this.#o.hooks.bind({ mode, systemId, password: fieldStr(pdu, 'password'), ip: this.ip });
    if (!verdict.ok) {
      this.#log.warn({ systemId, ip: this.ip, status: statusName(verdict.status), reason: verdict.reason }, 'smpp server: bind refused');
      this.#writer.push(encodePdu(`${commandName(pdu.commandId)}_resp`, pdu.sequenceNumber, { system_id: SERVER_SYSTEM_ID }, verdict.status));
      this.#end('bind_refused');
      return;
    }
    this.#state = 'bound';
    clearTimeout(this.#bindTimer);
    this.#mode = mode;
    this.#account = verdict.account;
    this.#log = this.#log.child({ systemId, mode });
    this.#writer.push(encodePdu(`${commandName(pdu.commandId)}_resp`, pdu.sequenceNumber, { system_id: SERVER_SYSTEM_ID }));
    this.#log.info({ ip: this.ip }, 'smpp server: bound');
    this.#o.hooks.bound(this);
  }

  #onSubmit(pdu: Pdu): void {
    const seq = pdu.sequenceNumber;
    const answer = (a: SubmitAnswer) => {
      this.#submitsOpen--;
      if (this.#state === 'closed') return;
      this.#writer.push(encodeMessageIdResp(CommandId.submit_sm_resp, a.status, seq, a.status === 0 ? a.messageId ?? '' : ''));
    };
    if (this.#state !== 'bound' || this.#mode === 'receiver') {
      this.#writer.push(encodeHeader(CommandId.submit_sm_resp, Status.ESME_RINVBNDSTS, seq));
      return;
    }
    if (this.#submitsOpen >= this.#account!.window) {
      // Past its window the client is sending faster than it is answered: slow it down.
      this.#writer.push(encodeHeader(CommandId.submit_sm_resp, Status.ESME_RTHROTTLED, seq));
      return;
    }
    this.#submitsOpen++;
    this.#o.hooks.submit(this, pdu).then(answer, (err: unknown) => {
      this.#log.error({ err: { message: (err as Error).message } }, 'smpp server: submit failed');
      answer({ status: Status.ESME_RSYSERR });
    });
  }

  #handOver(pdu: Pdu): void {
    this.#detach();
    this.#writer.close();
    this.#state = 'closed';
    this.#closeReason = 'outbind';
    if (!this.#o.hooks.outbind!(this.#socket, pdu)) this.#socket.destroy();
    this.emit('close', 'outbind');
  }

  // ---- deliver_sm window ------------------------------------------------------------------

  #nextSeq(): number {
    do this.#seq = this.#seq >= MAX_SEQ ? 1 : this.#seq + 1;
    while (this.#awaiting.has(this.#seq));
    return this.#seq;
  }

  #settle(seq: number, r: DeliverResult): void {
    const a = this.#awaiting.get(seq);
    if (a === undefined) return;
    this.#awaiting.delete(seq);
    clearTimeout(a.timer);
    a.done(r);
    if (this.#state === 'bound') this.emit('free');
  }

  // ---- lifecycle ------------------------------------------------------------------------------

  #touch(): void {
    if (this.#idle !== undefined) clearTimeout(this.#idle);
    this.#idle = setTimeout(() => {
      this.#log.info({ ip: this.ip, state: this.#state }, 'smpp server: idle connection dropped');
      this.close('idle');
    }, this.#o.idleTimeoutMs);
  }

  /** Write what is queued, half-close, and cut a peer that does not close its side. */
  #end(reason: ServerCloseReason): void {
    this.#closeReason ??= reason;
    this.#writer.flush();
    this.#writer.close();
    this.#socket.end();
    setTimeout(() => this.#socket.destroy(), 1000).unref();
  }

  #detach(): void {
    if (this.#idle !== undefined) clearTimeout(this.#idle);
    clearTimeout(this.#bindTimer);
    this.#socket.off('data', this.#onData);
    this.#socket.off('error', this.#onError);
    this.#socket.off('end', this.#onEnd);
    this.#socket.off('close', this.#onClose);
  }

  readonly #onError = (e: Error): void => {
    this.#closeReason ??= 'socket_error';
    this.#log.warn({ err: e.message, ip: this.ip }, 'smpp server: socket error');
  };

  readonly #onEnd = (): void => {
    this.#closeReason ??= 'peer_closed';
    this.#socket.destroy();
  };

  readonly #onClose = (): void => {
    if (this.#state === 'closed') return;
    this.#state = 'closed';
    this.#detach();
    this.#writer.close();
    for (const seq of [...this.#awaiting.keys()]) this.#settle(seq, 'closed');
    const reason = this.#closeReason ?? 'peer_closed';
    this.#log.info({ reason }, 'smpp server: connection closed');
    this.emit('close', reason);
  };
}
