/**
 * One ESME connection to the simulated SMSC: framing, binds, submit_sm answered per the
 * simulator's current mode (ack, slow, throttle, errors, drop, silent), the SMSC side of
 * enquire_link and unbind, and what the ESME answers to what we send.
 */
import type net from 'node:net';
import type { Logger } from 'pino';
import type { SmscSimOptions } from './smsc.js';
import {
  CommandId,
  commandName,
  decodePdu,
  encodeHeader,
  encodeMessageIdResp,
  encodePdu,
  encodeShortMessagePdu,
  fieldBuf,
  fieldNum,
  fieldStr,
  isResponseId,
  readHeader,
  responseIdFor,
  type Pdu,
  type SubmitSmFields,
} from '../carriers/smpp/codec.js';
import { Status } from '../carriers/smpp/command-status.js';
import { DecodeError } from '../carriers/smpp/errors.js';
import { PduFramer } from '../carriers/smpp/framing.js';
import { CoalescingWriter } from '../carriers/smpp/writer.js';
import { maskPhone } from '../observability/redact.js';
import type { RecordedSubmit, SimRecorder } from './recorder.js';

export type SimBindMode = 'transceiver' | 'transmitter' | 'receiver';

/** What a connection needs from the simulator (its live options and shared counters). */
export interface SimContext {
  readonly recorder: SimRecorder;
  readonly log: Logger;
  /** The simulator's current misbehaviour modes (changed live by configure()). */
  readonly mode: Pick<
    SmscSimOptions,
    | 'silent'
    | 'respDelayMs'
    | 'throttleEvery'
    | 'errorEvery'
    | 'errorByDest'
    | 'dropAfterSubmits'
    | 'silentAfterSubmits'
    | 'dropAfterBindMs'
    | 'faultConnections'
    | 'malformedMessageId'
    | 'wrongResp'
  >;
  authenticate(systemId: string, password: string): number;
  /** Counts every submit_sm the SMSC takes (throttle/error "every Nth" use it). */
  nextSubmitNumber(): number;
  nextMessageId(): string;
  onBound(conn: SimConnection): void;
  /** A bound connection unbound or closed (once per successful bind). */
  onUnbound(conn: SimConnection): void;
  /** A submit_sm arrived on a bound transmitter/transceiver (counted before any fault mode). */
  onSubmitted(conn: SimConnection): void;
  onAccepted(conn: SimConnection, sub: RecordedSubmit): void;
  onClosed(conn: SimConnection): void;
  /** A deliver_sm_resp came (receipts answered with an error are sent again). */
  onDeliverAnswered?(conn: SimConnection, seq: number, status: number): void;
}

const BIND_MODES: Record<number, SimBindMode> = {
  [CommandId.bind_transceiver]: 'transceiver',
  [CommandId.bind_transmitter]: 'transmitter',
  [CommandId.bind_receiver]: 'receiver',
};

export class SimConnection {
  readonly index: number;
  readonly socket: net.Socket;
  readonly #ctx: SimContext;
  readonly #framer = new PduFramer();
  readonly #writer: CoalescingWriter;
  readonly #timers = new Set<NodeJS.Timeout>();
  #seq = 0;
  #closed = false;
  bindMode: SimBindMode | null = null;
  systemId = '';
  submits = 0;

  constructor(index: number, socket: net.Socket, ctx: SimContext) {
    this.index = index;
    this.socket = socket;
    this.#ctx = ctx;
    socket.setNoDelay(true);
    this.#writer = new CoalescingWriter(socket, () => undefined);
    socket.on('data', (c: Buffer) => this.#onData(c));
    socket.on('error', (e) => ctx.log.debug({ conn: index, err: e.message }, 'sim socket error'));
    socket.on('close', () => this.#onClose());
  }

  get bound(): boolean {
    return this.bindMode !== null && !this.#closed;
  }
  /** Bound as receiver or transceiver: deliver_sm may go here. */
  get canReceive(): boolean {
    return this.bound && this.bindMode !== 'transmitter';
  }

  /** Send a deliver_sm; returns its sequence_number. */
  deliverSm(fields: Record<string, unknown>): number {
    const seq = this.nextSeq();
    this.sendRaw(encodePdu('deliver_sm', seq, fields));
    return seq;
  }

  /** Send a receipt (deliver_sm, hand-encoded: the simulator's hot PDU); returns its sequence_number. */
  deliverReceipt(fields: SubmitSmFields): number {
    const seq = this.nextSeq();
    this.sendRaw(encodeShortMessagePdu(CommandId.deliver_sm, seq, fields));
    return seq;
  }

  nextSeq(): number {
    this.#seq = this.#seq >= 0x7fffffff ? 1 : this.#seq + 1;
    return this.#seq;
  }

  sendRaw(buf: Buffer): void {
    if (!this.#closed) this.#writer.push(buf);
  }

  /** Drop the TCP connection now, with no unbind (what a crashing SMSC does). */
  drop(): void {
    this.#writer.close();
    this.socket.destroy();
  }

  #onClose(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#writer.close();
    if (this.bindMode !== null) this.#ctx.onUnbound(this);
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.clear();
    this.#ctx.onClosed(this);
  }

  #onData(chunk: Buffer): void {
    let pdus: Buffer[];
    try {
      pdus = this.#framer.push(chunk);
    } catch {
      this.#ctx.log.warn({ conn: this.index }, 'sim: framing error, closing connection');
      this.drop();
      return;
    }
    for (const buf of pdus) {
      if (this.#closed) return;
      this.#onPdu(buf);
    }
  }

  #onPdu(buf: Buffer): void {
    let pdu: Pdu;
    try {
      pdu = decodePdu(buf);
    } catch (e) {
      if (!(e instanceof DecodeError)) throw e;
      const head = readHeader(buf);
      if (isResponseId(head.commandId)) {
        this.#recordResponse(head.commandId, head.commandStatus, head.sequenceNumber);
        return;
      }
      if (this.#ctx.mode.silent) return;
      const respId = responseIdFor(head.commandId);
      this.sendRaw(encodeHeader(respId ?? CommandId.generic_nack, respId ? e.status : Status.ESME_RINVCMDLEN, head.sequenceNumber));
      return;
    }
    if (isResponseId(pdu.commandId)) {
      this.#recordResponse(pdu.commandId, pdu.commandStatus, pdu.sequenceNumber);
      return;
    }
    if (pdu.commandId === CommandId.submit_sm) return this.#onSubmit(pdu);
    const seq = pdu.sequenceNumber;
    const mode = BIND_MODES[pdu.commandId];
    if (mode === undefined) {
      this.#ctx.recorder.request({ conn: this.index, command: pdu.command, commandId: pdu.commandId, seq, time: Date.now() });
    }
    if (this.#ctx.mode.silent) return;
    if (mode !== undefined) return this.#onBind(pdu, mode);
    switch (pdu.commandId) {
      case CommandId.enquire_link:
        this.sendRaw(encodeHeader(CommandId.enquire_link_resp, 0, seq));
        return;
      case CommandId.unbind:
        this.sendRaw(encodeHeader(CommandId.unbind_resp, 0, seq));
        if (this.bindMode !== null) this.#ctx.onUnbound(this);
        this.bindMode = null;
        this.#writer.flush();
        this.socket.end();
        return;
      default:
        this.sendRaw(encodeHeader(CommandId.generic_nack, Status.ESME_RINVCMDID, seq));
    }
  }

  /** Whether the per-connection fault modes apply to this connection. */
  get #faulty(): boolean {
    const only = this.#ctx.mode.faultConnections;
    return only === null || only.includes(this.index);
  }

  #recordResponse(commandId: number, status: number, seq: number): void {
    this.#ctx.recorder.response({ conn: this.index, command: commandName(commandId), commandId, status, seq, time: Date.now() });
    if (commandId === CommandId.deliver_sm_resp) this.#ctx.onDeliverAnswered?.(this, seq, status);
  }

  #onBind(pdu: Pdu, mode: SimBindMode): void {
    const systemId = fieldStr(pdu, 'system_id');
    const status = this.bindMode !== null ? Status.ESME_RALYBND : this.#ctx.authenticate(systemId, fieldStr(pdu, 'password'));
    this.#ctx.recorder.bound({ conn: this.index, command: pdu.command, systemId, status, time: Date.now() });
    const respId = pdu.commandId | 0x80000000;
    if (status !== 0) {
      this.#ctx.log.info({ conn: this.index, status }, 'sim: bind refused');
      this.sendRaw(encodeHeader(respId, status, pdu.sequenceNumber));
      return;
    }
    this.bindMode = mode;
    this.systemId = systemId;
    this.sendRaw(encodePdu(`${pdu.command}_resp`, pdu.sequenceNumber, { system_id: 'XINGESIM' }));
    this.#ctx.onBound(this);
    const dropMs = this.#ctx.mode.dropAfterBindMs;
    if (dropMs > 0 && this.#faulty) {
      const t = setTimeout(() => {
        this.#timers.delete(t);
        this.#ctx.log.info({ conn: this.index, afterMs: dropMs }, 'sim: dropping connection after bind');
        this.drop();
      }, dropMs);
      this.#timers.add(t);
    }
  }

  #onSubmit(pdu: Pdu): void {
    const ctx = this.#ctx;
    const seq = pdu.sequenceNumber;
    if (!this.bound || this.bindMode === 'receiver') {
      if (!ctx.mode.silent) this.sendRaw(encodeHeader(CommandId.submit_sm_resp, Status.ESME_RINVBNDSTS, seq));
      return;
    }
    this.submits++;
    const rec: RecordedSubmit = {
      conn: this.index,
      systemId: this.systemId,
      seq,
      source: fieldStr(pdu, 'source_addr'),
      sourceTon: fieldNum(pdu, 'source_addr_ton'),
      sourceNpi: fieldNum(pdu, 'source_addr_npi'),
      destination: fieldStr(pdu, 'destination_addr'),
      destTon: fieldNum(pdu, 'dest_addr_ton'),
      destNpi: fieldNum(pdu, 'dest_addr_npi'),
      esmClass: fieldNum(pdu, 'esm_class'),
      dataCoding: fieldNum(pdu, 'data_coding'),
      registeredDelivery: fieldNum(pdu, 'registered_delivery'),
      validityPeriod: fieldStr(pdu, 'validity_period'),
      shortMessage: Buffer.from(fieldBuf(pdu, 'short_message')),
      tlvs: copyTlvs(pdu.tlvs),
      time: Date.now(),
    };
    ctx.recorder.submitted(rec);
    ctx.onSubmitted(this);
    const m = ctx.mode;
    if (m.silent) return;
    if (m.dropAfterSubmits > 0 && this.submits >= m.dropAfterSubmits) {
      ctx.log.info({ conn: this.index, after: this.submits }, 'sim: dropping connection');
      this.drop();
      return;
    }
    if (m.silentAfterSubmits > 0 && this.submits > m.silentAfterSubmits && this.#faulty) return; // half-dead: enquire_link still answered
    const n = ctx.nextSubmitNumber();
    const wrong = m.wrongResp !== null && m.wrongResp.every > 0 && n % m.wrongResp.every === 0 ? m.wrongResp.command : null;
    let status: number = m.errorByDest[rec.destination] ?? Status.ESME_ROK;
    if (status === 0 && m.throttleEvery > 0 && n % m.throttleEvery === 0) status = Status.ESME_RTHROTTLED;
    if (status === 0 && m.errorEvery && m.errorEvery.n > 0 && n % m.errorEvery.n === 0) status = m.errorEvery.status;
    const answer = (): void => {
      if (this.#closed) return;
      if (wrong !== null) {
        // A confused SMSC: some other PDU type with this submit's sequence number, status 0.
        this.sendRaw(encodeHeader(CommandId[wrong], 0, seq));
        ctx.recorder.answered(this.index);
        return;
      }
      rec.status = status;
      const malformed = status === 0 ? m.malformedMessageId : null;
      if (status === 0) rec.messageId = ctx.nextMessageId();
      // Too long: the id zero-padded to 70 octets (still a number, so receipts can be built from it).
      if (malformed === 'too-long') rec.messageId = rec.messageId!.padStart(70, '0');
      if (malformed === 'empty') rec.messageId = '';
      this.sendRaw(malformed ? malformedIdResp(malformed, seq, rec.messageId!) : encodeMessageIdResp(CommandId.submit_sm_resp, status, seq, rec.messageId));
      ctx.recorder.answered(this.index);
      ctx.log.debug({ conn: this.index, seq, to: maskPhone(rec.destination), status }, 'sim: submit_sm answered');
      if (status === 0 && rec.messageId !== '') ctx.onAccepted(this, rec);
    };
    if (m.respDelayMs > 0) {
      const t = setTimeout(() => {
        this.#timers.delete(t);
        answer();
      }, m.respDelayMs);
      this.#timers.add(t);
    } else answer();
  }
}

function copyTlvs(t: Pdu['tlvs']): RecordedSubmit['tlvs'] {
  const out: RecordedSubmit['tlvs'] = {};
  for (const [k, v] of Object.entries(t)) out[k] = Buffer.isBuffer(v) ? Buffer.from(v) : v;
  return out;
}

/**
 * A submit_sm_resp with status 0 whose message_id breaks SMPP 3.4 (a C-octet string of at most
 * 65 octets): no terminator, too long (`id` is already 70 octets), or absent.
 */
function malformedIdResp(kind: 'no-nul' | 'too-long' | 'empty', seq: number, id: string): Buffer {
  const body =
    kind === 'empty' ? Buffer.alloc(0) : kind === 'no-nul' ? Buffer.from(id, 'latin1') : Buffer.concat([Buffer.from(id, 'latin1'), Buffer.from([0])]);
  const head = encodeHeader(CommandId.submit_sm_resp, 0, seq);
  head.writeUInt32BE(head.length + body.length, 0);
  return Buffer.concat([head, body]);
}
