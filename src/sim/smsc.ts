/**
 * The simulated SMSC (SPEC 12): an SMPP server on 127.0.0.1 that binds configured
 * accounts, acks submit_sm with message ids, sends delivery receipts after a delay with
 * an outcome mix, and can be made to misbehave: slow resps, throttling, injected errors,
 * dropped connections, silence, malformed PDUs, id-format mismatches, receipts for the
 * last segment only or never. It records what it received (see SimRecorder).
 *
 * Every mode can be changed while running with configure().
 */
import net from 'node:net';
import tls from 'node:tls';
import { pino, type Logger } from 'pino';
import { encodeHeader, type SubmitSmFields } from '../carriers/smpp/codec.js';
import { Status } from '../carriers/smpp/command-status.js';
import { SimConnection, type SimContext } from './connection.js';
import { buildMoParts, type MoInput } from './mo.js';
import { formatId, isLastSegment, MESSAGE_STATE, pickOutcome, receiptText, type IdFormat, type ReceiptStat } from './receipts.js';
import { SimRecorder, type RecordedSubmit } from './recorder.js';
import { AccountCounters, type AccountStats } from './account-stats.js';

export interface SimAccount {
  systemId: string;
  password: string;
}

export interface SmscReceiptOptions {
  /** Delay from submit_sm_resp to the receipt. */
  delayMs: number;
  /** Weights of the final states; default all DELIVRD. */
  mix: Partial<Record<ReceiptStat, number>>;
  /** `all` parts, the `last` part of a concatenated message only, or `none` (receipts never come). */
  segments: 'all' | 'last' | 'none';
  /** Each receipt sent this many times at once (carriers resend a receipt they think was lost); default 1. */
  copies?: number;
  /**
   * A receipt answered with an error status (the gateway could not write it) is sent again
   * after this many ms, up to RECEIPT_RETRIES times, as SMSCs do; 0 or absent: never.
   */
  retryMs?: number;
}

/** Resends of one receipt at most (retryMs). */
export const RECEIPT_RETRIES = 10;

export interface SmscSimOptions {
  host: string;
  port: number;
  accounts: SimAccount[];
  /** Format of message_id in submit_sm_resp. */
  idFormat: IdFormat;
  /** Format of the id in receipts (id: text and receipted_message_id); default = idFormat. Differs = id-mismatch mode. */
  receiptIdFormat: IdFormat | null;
  /** First message id; ids count up from here (BigInt: 2^60 and beyond are fine). */
  idStart: bigint;
  /** Slow mode: each submit_sm_resp waits this long. */
  respDelayMs: number;
  /** Every Nth submit_sm (counted over the whole SMSC) gets ESME_RTHROTTLED; 0 = never. */
  throttleEvery: number;
  /** Every Nth submit_sm gets this status. */
  errorEvery: { n: number; status: number } | null;
  /** A destination_addr (as on the wire) → the status its submit_sm gets. */
  errorByDest: Record<string, number>;
  /** Drop a connection (no resp, no unbind) when it sends its Nth submit_sm; 0 = never. */
  dropAfterSubmits: number;
  /** Keep connections open but answer nothing, enquire_link included. */
  silent: boolean;
  /**
   * Half-dead bind: each connection answers its first N submit_sm, then no more (still
   * answering enquire_link and unbind); 0 = never.
   */
  silentAfterSubmits: number;
  /** Drop every connection this many ms after its bind succeeds (a flapping SMSC); 0 = never. */
  dropAfterBindMs: number;
  /** Connection indexes (0 = the first accepted) silentAfterSubmits and dropAfterBindMs apply to; null = all. */
  faultConnections: number[] | null;
  /**
   * submit_sm_resp with command_status 0 and a malformed message_id: `no-nul` (the id runs to
   * the end of the PDU), `too-long` (a 70-octet id), `empty` (no message_id at all); null = well formed.
   */
  malformedMessageId: MalformedMessageId | null;
  /**
   * Every Nth submit_sm (over the whole SMSC) is answered with a PDU of the wrong type carrying
   * its sequence number (and status 0) instead of its submit_sm_resp; null = never.
   */
  wrongResp: { every: number; command: WrongRespCommand } | null;
  receipts: SmscReceiptOptions;
  /** How many submit_sm records to keep (counters are always kept); 0 for benchmarks. */
  recordLimit: number;
  logger: Logger;
  /** For the outcome mix (tests pass a seeded one). */
  random: () => number;
  /** Serve SMPP over TLS with these options (key, cert); absent = plain TCP. */
  tls?: tls.TlsOptions;
}

export type SmscSimInput = Partial<Omit<SmscSimOptions, 'receipts' | 'idStart'>> & {
  receipts?: Partial<SmscReceiptOptions>;
  idStart?: bigint | number | string;
};

export type MalformedMessageId = 'no-nul' | 'too-long' | 'empty';
export type WrongRespCommand = 'enquire_link_resp' | 'generic_nack' | 'unbind_resp' | 'deliver_sm_resp';

export type MalformedKind = 'bad-body' | 'unknown-command' | 'absurd-length' | 'short-length';

const DEFAULTS: Omit<SmscSimOptions, 'logger' | 'random' | 'tls'> = {
  host: '127.0.0.1',
  port: 0,
  accounts: [{ systemId: 'xinge', password: 'secret' }],
  idFormat: 'decimal',
  receiptIdFormat: null,
  idStart: 1n,
  respDelayMs: 0,
  throttleEvery: 0,
  errorEvery: null,
  errorByDest: {},
  dropAfterSubmits: 0,
  silent: false,
  silentAfterSubmits: 0,
  dropAfterBindMs: 0,
  faultConnections: null,
  malformedMessageId: null,
  wrongResp: null,
  receipts: { delayMs: 200, mix: { DELIVRD: 1 }, segments: 'all' },
  recordLimit: Number.POSITIVE_INFINITY,
};

export class SmscSimulator {
  readonly recorder: SimRecorder;
  /** Per system_id: binds open now and at most, submit_sm per second at most (account-stats.ts). */
  readonly accounts = new AccountCounters();
  readonly #opts: SmscSimOptions;
  readonly #server: net.Server | tls.Server;
  readonly #conns = new Map<number, SimConnection>();
  readonly #timers = new Set<NodeJS.Timeout>();
  readonly #ctx: SimContext;
  /** Receipts waiting for a receiver of their account to bind. */
  readonly #heldReceipts = new Map<string, SubmitSmFields[]>();
  /** Receipts sent and not yet answered, by `conn:seq` (only when receipts are resent: retryMs). */
  readonly #unanswered = new Map<string, { fields: SubmitSmFields; tries: number; systemId: string }>();
  #dueNow: Array<() => void> = [];
  #dueNowTimer: NodeJS.Immediate | undefined;
  #nextConn = 0;
  #submitNumber = 0;
  #nextId: bigint;
  #moRef = 0;
  #port = 0;

  constructor(input: SmscSimInput = {}) {
    const { receipts, idStart, ...rest } = input;
    this.#opts = {
      ...DEFAULTS,
      logger: pino({ level: 'silent' }),
      random: Math.random,
      ...stripUndefined(rest),
      receipts: { ...DEFAULTS.receipts, ...stripUndefined(receipts ?? {}) },
      idStart: idStart === undefined ? DEFAULTS.idStart : BigInt(idStart),
    };
    this.#nextId = this.#opts.idStart;
    this.recorder = new SimRecorder(this.#opts.recordLimit);
    this.#ctx = this.#makeContext();
    const tlsOpts = this.#opts.tls;
    this.#server = tlsOpts
      ? tls.createServer(tlsOpts, (s) => this.#accept(s))
      : net.createServer((s) => this.#accept(s));
  }

  /** Current options (read-only view; change them with configure()). */
  get options(): Readonly<SmscSimOptions> {
    return this.#opts;
  }

  get port(): number {
    return this.#port;
  }

  /** Change modes while running (applies to the next PDU on every connection). */
  configure(patch: SmscSimInput): void {
    const { receipts, idStart, ...rest } = patch;
    Object.assign(this.#opts, stripUndefined(rest));
    if (receipts) this.#opts.receipts = { ...this.#opts.receipts, ...stripUndefined(receipts) };
    if (idStart !== undefined) this.#nextId = BigInt(idStart);
    if (rest.recordLimit !== undefined) this.recorder.limit = rest.recordLimit;
  }

  async start(): Promise<{ port: number }> {
    await new Promise<void>((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(this.#opts.port, this.#opts.host, () => {
        this.#server.off('error', reject);
        resolve();
      });
    });
    this.#port = (this.#server.address() as net.AddressInfo).port;
    this.#opts.logger.info({ port: this.#port }, 'smsc simulator listening');
    return { port: this.#port };
  }

  async stop(): Promise<void> {
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.clear();
    if (this.#dueNowTimer !== undefined) clearImmediate(this.#dueNowTimer);
    this.#dueNowTimer = undefined;
    this.#dueNow = [];
    for (const c of this.#conns.values()) c.drop();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  /** Open connections (index, bind mode, system_id). */
  connections(): { index: number; bindMode: string | null; systemId: string; submits: number }[] {
    return [...this.#conns.values()].map((c) => ({ index: c.index, bindMode: c.bindMode, systemId: c.systemId, submits: c.submits }));
  }

  /** Binds and submit rate of one system_id, or of every one seen. */
  accountStats(): AccountStats[];
  accountStats(systemId: string): AccountStats;
  accountStats(systemId?: string): AccountStats | AccountStats[] {
    return systemId === undefined ? this.accounts.all() : this.accounts.get(systemId);
  }

  /** Drop one connection (by index) or all, with no unbind. */
  drop(conn?: number): void {
    for (const c of this.#conns.values()) if (conn === undefined || c.index === conn) c.drop();
  }

  /** Send enquire_link to a connection (default: the first bound one); returns its sequence number. */
  sendEnquireLink(conn?: number): number {
    const c = this.#pick(conn, false);
    const seq = c.nextSeq();
    c.sendRaw(encodeHeader(0x00000015, 0, seq));
    return seq;
  }

  /** Send unbind to a connection; the ESME should answer unbind_resp and close. */
  sendUnbind(conn?: number): number {
    const c = this.#pick(conn, false);
    const seq = c.nextSeq();
    c.sendRaw(encodeHeader(0x00000006, 0, seq));
    return seq;
  }

  /**
   * Send a malformed PDU: `bad-body` (a deliver_sm whose sm_length runs past the end),
   * `unknown-command` (command_id 0x00000777), `absurd-length` (command_length 0x7FFFFFFF)
   * or `short-length` (command_length 8). Returns the sequence number used.
   */
  injectMalformed(kind: MalformedKind, conn?: number): number {
    const c = this.#pick(conn, false);
    const seq = c.nextSeq();
    let pdu: Buffer;
    if (kind === 'unknown-command') pdu = encodeHeader(0x00000777, 0, seq);
    else if (kind === 'absurd-length' || kind === 'short-length') {
      pdu = encodeHeader(CommandIdDeliver, 0, seq);
      pdu.writeUInt32BE(kind === 'absurd-length' ? 0x7fffffff : 8, 0);
    } else {
      // service_type "", ton, npi, "1", ton, npi, "2", esm … data_coding, sm_default, sm_length 200, 3 octets
      const body = Buffer.from([0, 1, 1, 0x31, 0, 1, 1, 0x32, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 200, 0x41, 0x42, 0x43]);
      pdu = Buffer.concat([encodeHeader(CommandIdDeliver, 0, seq), body]);
      pdu.writeUInt32BE(pdu.length, 0);
    }
    c.sendRaw(pdu);
    return seq;
  }

  /** Send an MO (as one or several deliver_sm) to a bound receiver/transceiver; returns the sequence numbers. */
  injectMo(mo: MoInput): number[] {
    const c = this.#pick(mo.conn, true);
    this.#moRef = (this.#moRef + 1) & 0xff;
    return buildMoParts(mo, this.#moRef).map((p) =>
      c.deliverSm({
        source_addr_ton: 1,
        source_addr_npi: 1,
        source_addr: mo.from,
        dest_addr_ton: 0,
        dest_addr_npi: 1,
        destination_addr: mo.to,
        esm_class: p.esmClass,
        data_coding: p.dataCoding,
        short_message: p.shortMessage,
        ...p.tlvs,
      }),
    );
  }

  // ---- internals -----------------------------------------------------------------------

  #pick(conn: number | undefined, receiver: boolean): SimConnection {
    for (const c of this.#conns.values()) {
      if (conn !== undefined ? c.index === conn : receiver ? c.canReceive : c.bound) return c;
    }
    throw new Error(conn !== undefined ? `no open connection ${conn}` : 'no bound connection');
  }

  #accept(socket: net.Socket): void {
    const index = this.#nextConn++;
    const conn = new SimConnection(index, socket, this.#ctx);
    this.#conns.set(index, conn);
  }

  #makeContext(): SimContext {
    const opts = this.#opts;
    return {
      recorder: this.recorder,
      log: opts.logger,
      // The live options object: configure() changes apply to the next PDU.
      mode: opts,
      authenticate: (systemId, password) => {
        const acct = opts.accounts.find((a) => a.systemId === systemId);
        if (!acct) return Status.ESME_RINVSYSID;
        return acct.password === password ? Status.ESME_ROK : Status.ESME_RINVPASWD;
      },
      nextSubmitNumber: () => ++this.#submitNumber,
      nextMessageId: () => formatId(this.#nextId++, opts.idFormat),
      onBound: (c) => {
        this.accounts.bound(c.systemId);
        this.#flushHeld(c);
      },
      onUnbound: (c) => this.accounts.unbound(c.systemId),
      onSubmitted: (c) => this.accounts.submitted(c.systemId),
      onAccepted: (c, sub) => this.#scheduleReceipt(c, sub),
      onClosed: (c) => {
        this.#conns.delete(c.index);
        // Receipts never answered on a closed connection: sent again on the account's next bind.
        if ((opts.receipts.retryMs ?? 0) > 0) {
          for (const [key, sent] of this.#unanswered) {
            if (!key.startsWith(`${c.index}:`)) continue;
            this.#unanswered.delete(key);
            const held = this.#heldReceipts.get(sent.systemId) ?? [];
            held.push(sent.fields);
            this.#heldReceipts.set(sent.systemId, held);
          }
        }
      },
      onDeliverAnswered: (c, seq, status) => this.#deliverAnswered(c, seq, status),
    };
  }

  #scheduleReceipt(conn: SimConnection, sub: RecordedSubmit): void {
    const r = this.#opts.receipts;
    const wanted = sub.registeredDelivery & 0x03;
    if (wanted === 0 || r.segments === 'none') return;
    if (r.segments === 'last' && !isLastSegment(sub.esmClass, sub.shortMessage, sub.tlvs)) return;
    const stat = pickOutcome(r.mix, this.#opts.random);
    if (wanted === 2 && stat === 'DELIVRD') return; // receipt on failure only
    const idNum = BigInt(this.#opts.idFormat === 'decimal' ? sub.messageId! : `0x${sub.messageId!}`);
    const id = formatId(idNum, this.#opts.receiptIdFormat ?? this.#opts.idFormat);
    const submitted = new Date(sub.time);
    const send = (): void => {
      const text = receiptText({ id, stat, submitted, done: new Date(), text: sub.shortMessage.subarray(0, 20).toString('latin1') });
      const fields: SubmitSmFields = {
        sourceAddrTon: sub.destTon,
        sourceAddrNpi: sub.destNpi,
        sourceAddr: sub.destination,
        destAddrTon: sub.sourceTon,
        destAddrNpi: sub.sourceNpi,
        destinationAddr: sub.source,
        esmClass: 0x04,
        registeredDelivery: 0,
        dataCoding: 0,
        shortMessage: Buffer.from(text, 'latin1'),
        receiptedMessageId: id,
        messageState: MESSAGE_STATE[stat],
      };
      sub.receipt = { stat, time: Date.now() };
      const target = conn.canReceive ? conn : [...this.#conns.values()].find((c) => c.canReceive && c.systemId === sub.systemId);
      if (target) for (let i = 0; i < (r.copies ?? 1); i++) this.#sendReceipt(target, fields, 0);
      else {
        const held = this.#heldReceipts.get(sub.systemId) ?? [];
        held.push(fields);
        this.#heldReceipts.set(sub.systemId, held);
      }
    };
    // Receipts without delay go out together at the end of the turn: one timer per receipt
    // costs the simulator more than the receipt itself at bench rates.
    if (r.delayMs <= 0) {
      this.#dueNow.push(send);
      this.#dueNowTimer ??= setImmediate(() => {
        this.#dueNowTimer = undefined;
        const due = this.#dueNow;
        this.#dueNow = [];
        for (const f of due) f();
      });
      return;
    }
    const t = setTimeout(() => {
      this.#timers.delete(t);
      send();
    }, r.delayMs);
    this.#timers.add(t);
  }

  /** A receipt on the wire; remembered until answered when receipts are resent (retryMs). */
  #sendReceipt(c: SimConnection, fields: SubmitSmFields, tries: number): void {
    const seq = c.deliverReceipt(fields);
    if ((this.#opts.receipts.retryMs ?? 0) > 0) this.#unanswered.set(`${c.index}:${seq}`, { fields, tries, systemId: c.systemId });
  }

  /** A deliver_sm_resp: an error for a receipt sends it again later (retryMs), on a bind of that account. */
  #deliverAnswered(c: SimConnection, seq: number, status: number): void {
    // Every deliver_sm_resp comes here: with nothing remembered (retryMs off), no key is built.
    if (this.#unanswered.size === 0) return;
    const key = `${c.index}:${seq}`;
    const sent = this.#unanswered.get(key);
    if (sent === undefined) return;
    this.#unanswered.delete(key);
    const retryMs = this.#opts.receipts.retryMs ?? 0;
    if (status === 0 || retryMs <= 0 || sent.tries >= RECEIPT_RETRIES) return;
    const t = setTimeout(() => {
      this.#timers.delete(t);
      const target = [...this.#conns.values()].find((x) => x.canReceive && x.systemId === sent.systemId);
      if (target) this.#sendReceipt(target, sent.fields, sent.tries + 1);
      else {
        const held = this.#heldReceipts.get(sent.systemId) ?? [];
        held.push(sent.fields);
        this.#heldReceipts.set(sent.systemId, held);
      }
    }, retryMs);
    this.#timers.add(t);
  }

  #flushHeld(c: SimConnection): void {
    if (!c.canReceive) return;
    const held = this.#heldReceipts.get(c.systemId);
    if (!held) return;
    this.#heldReceipts.delete(c.systemId);
    for (const f of held) this.#sendReceipt(c, f, 0);
  }
}

const CommandIdDeliver = 0x00000005;

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
