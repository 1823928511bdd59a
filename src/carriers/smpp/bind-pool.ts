/**
 * BindPool: the Connector for one SMPP carrier account (SPEC 4). It keeps `binds`
 * persistent sessions (transceivers, or transmitters plus as many receivers), rebuilds
 * each one alone when it drops (exponential backoff with full jitter; minutes after an
 * authentication failure so the carrier does not lock the account), and sends each
 * submit on the bound transmitter with the most free window. Submits beyond the free
 * window wait in a small internal queue (OTP first) and go out as resps free slots; when
 * no transmitter is bound they answer `disconnected` at once so the caller can requeue.
 *
 * Events: 'bind' (BindState, on every state change), 'deliver' (InboundDeliver: the
 * caller commits, then calls ack()).
 */
import { EventEmitter } from 'node:events';
import type tls from 'node:tls';
import { pino, type Logger } from 'pino';
import type { CarrierConfig } from '../../config/schema.js';
import type { BindState, Connector, ConnectorEvents, OutboundSegment, SubmitOutcome } from '../connector.js';
import { maskPhone } from '../../observability/redact.js';
import type { Pdu, SubmitSmFields } from './codec.js';
import { isAuthFailure, Status, statusName } from './command-status.js';
import { BindError } from './errors.js';
import type { SmppMetrics } from './metrics.js';
import { checkSubmitFields, submitFieldsFor, toInboundDeliver } from './pdu-mapping.js';
import { SmppSession, type BindMode, type SessionCloseInfo } from './session.js';

/** What the pool needs from a rate limiter (scheduler's AdaptiveTokenBucket fits). */
export interface SubmitLimiter {
  tryTake(n?: number): number;
  msUntilAvailable(): number;
  onThrottled(): void;
  onSuccess(): void;
}

export interface BindPoolOptions {
  logger?: Logger;
  metrics?: SmppMetrics;
  /** For backoff jitter; tests pass a fixed one. */
  random?: () => number;
  /**
   * Optional per-account rate limit applied inside the pool (ESME_RTHROTTLED halves it,
   * accepted resps let it recover). Leave it out when the dispatcher paces submits itself.
   */
  limiter?: SubmitLimiter;
  /** Extra node:tls options when carrier.tls is set (a CA for a private SMSC, say). */
  tls?: tls.ConnectionOptions;
  /** TCP connect deadline; default carrier.response_timeout_s. */
  connectTimeoutMs?: number;
}

interface Slot {
  index: number;
  mode: BindMode;
  state: BindState['state'];
  session: SmppSession | null;
  attempt: number;
  timer: NodeJS.Timeout | null;
}

interface Waiting {
  fields: SubmitSmFields;
  to: string;
  resolve: (o: SubmitOutcome) => void;
}

/** A FIFO with O(1) shift. */
class Fifo<T> {
  #items: T[] = [];
  #head = 0;
  get length(): number {
    return this.#items.length - this.#head;
  }
  push(x: T): void {
    this.#items.push(x);
  }
  shift(): T | undefined {
    if (this.#head >= this.#items.length) return undefined;
    const x = this.#items[this.#head];
    this.#items[this.#head++] = undefined as T;
    if (this.#head > 1024 && this.#head * 2 > this.#items.length) {
      this.#items = this.#items.slice(this.#head);
      this.#head = 0;
    }
    return x;
  }
  drain(): T[] {
    const out = this.#items.slice(this.#head);
    this.#items = [];
    this.#head = 0;
    return out;
  }
}

const DISCONNECTED: SubmitOutcome = Object.freeze({ kind: 'disconnected' });

export class BindPool extends EventEmitter<ConnectorEvents> implements Connector {
  readonly id: string;
  readonly carrier: CarrierConfig;
  readonly #log: Logger;
  readonly #metrics: SmppMetrics;
  readonly #random: () => number;
  readonly #opts: BindPoolOptions;
  readonly #slots: Slot[] = [];
  readonly #otp = new Fifo<Waiting>();
  readonly #bulk = new Fifo<Waiting>();
  #inFlight = 0;
  #started = false;
  #stopping = false;
  #everBound = false;
  #pumpTimer: NodeJS.Timeout | null = null;
  #idleWaiters: (() => void)[] = [];

  constructor(carrier: CarrierConfig, opts: BindPoolOptions = {}) {
    super();
    this.id = carrier.id;
    this.carrier = carrier;
    this.#opts = opts;
    this.#log = (opts.logger ?? pino({ level: 'silent' })).child({ carrier: carrier.id });
    this.#metrics = opts.metrics ?? {};
    this.#random = opts.random ?? Math.random;
    const n = carrier.binds;
    if (carrier.bind === 'transceiver') {
      for (let i = 0; i < n; i++) this.#slots.push(this.#newSlot(i, 'transceiver'));
    } else {
      for (let i = 0; i < n; i++) this.#slots.push(this.#newSlot(i, 'transmitter'));
      for (let i = 0; i < n; i++) this.#slots.push(this.#newSlot(n + i, 'receiver'));
    }
  }

  #newSlot(index: number, mode: BindMode): Slot {
    return { index, mode, state: 'closed', session: null, attempt: 0, timer: null };
  }

  start(): void {
    if (this.#started) return;
    this.#started = true;
    for (const s of this.#slots) this.#connect(s);
  }

  capacity(): number {
    let free = 0;
    for (const s of this.#slots) if (s.session?.canSubmit()) free += s.session.freeWindow;
    return Math.max(0, free - this.#otp.length - this.#bulk.length);
  }

  isUp(): boolean {
    return this.#slots.some((s) => s.state === 'bound' && s.mode !== 'receiver');
  }

  hasBound(): boolean {
    return this.#everBound;
  }

  /** submit_sm in flight across binds. */
  get inFlight(): number {
    return this.#inFlight;
  }

  /** Submits waiting for a free window slot. */
  get queued(): number {
    return this.#otp.length + this.#bulk.length;
  }

  binds(): BindState[] {
    return this.#slots.map((s) => this.#stateOf(s));
  }

  submit(seg: OutboundSegment): Promise<SubmitOutcome> {
    if (this.#stopping || !this.isUp()) return Promise.resolve(DISCONNECTED);
    const fields = submitFieldsFor(this.carrier, seg);
    const bad = checkSubmitFields(fields);
    if (bad !== 0) {
      this.#log.warn({ segment: seg.segmentId, to: maskPhone(seg.to), status: statusName(bad) }, 'smpp submit refused before sending');
      return Promise.resolve({ kind: 'rejected', commandStatus: bad, statusName: statusName(bad) });
    }
    return new Promise<SubmitOutcome>((resolve) => {
      (seg.lane === 'otp' ? this.#otp : this.#bulk).push({ fields, to: seg.to, resolve });
      this.#pump();
    });
  }

  async stop(graceMs: number): Promise<void> {
    if (this.#stopping) return;
    this.#stopping = true;
    if (this.#pumpTimer) clearTimeout(this.#pumpTimer);
    for (const w of [...this.#otp.drain(), ...this.#bulk.drain()]) w.resolve(DISCONNECTED);
    for (const s of this.#slots) {
      if (s.timer) clearTimeout(s.timer);
      s.timer = null;
      if (!s.session) this.#setState(s, 'closed');
    }
    if (this.#inFlight > 0 && graceMs > 0) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, graceMs);
        this.#idleWaiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
    const unbindMs = Math.min(2000, this.carrier.response_timeout_s * 1000);
    await Promise.all(
      this.#slots.map(async (s) => {
        const sess = s.session;
        if (!sess) return;
        if (sess.state === 'bound') this.#setState(s, 'unbinding');
        await sess.unbind(unbindMs);
      }),
    );
  }

  // ---- binds ----------------------------------------------------------------------------

  #connect(slot: Slot): void {
    if (this.#stopping) return;
    const c = this.carrier;
    const session = new SmppSession({
      host: c.host,
      port: c.port,
      tls: c.tls ? { rejectUnauthorized: c.tls_reject_unauthorized, ...this.#opts.tls } : false,
      mode: slot.mode,
      systemId: c.system_id,
      password: c.password,
      systemType: c.system_type,
      window: c.window,
      responseTimeoutMs: c.response_timeout_s * 1000,
      enquireLinkMs: c.enquire_link_s * 1000,
      ...(this.#opts.connectTimeoutMs !== undefined ? { connectTimeoutMs: this.#opts.connectTimeoutMs } : {}),
      logger: this.#log,
      label: `${c.id}#${slot.index}`,
    });
    slot.session = session;
    this.#setState(slot, 'connecting');
    session.once('connected', () => {
      if (slot.session === session) this.#setState(slot, 'binding');
    });
    session.on('deliver', (pdu, ack) => this.#onDeliver(slot, pdu, ack));
    session.on('free', this.#pump);
    session.on('decodeError', (e) => this.#metrics.decodeError?.(this.id, statusName(e.status)));
    session.once('close', (info) => this.#onClose(slot, session, info));
    session.connect().then(
      () => {
        if (slot.session !== session || session.state !== 'bound') return;
        slot.attempt = 0;
        this.#everBound = true;
        this.#metrics.bindState?.(this.id, slot.index, true);
        this.#setState(slot, 'bound');
        this.#pump();
      },
      () => undefined, // reported by the 'close' handler, which always follows
    );
  }

  #onClose(slot: Slot, session: SmppSession, info: SessionCloseInfo): void {
    if (slot.session !== session) return;
    slot.session = null;
    if (info.wasBound) this.#metrics.bindState?.(this.id, slot.index, false);
    const auth = info.error instanceof BindError && isAuthFailure(info.error.commandStatus);
    if (!info.wasBound && !this.#stopping) {
      const name = info.error instanceof BindError ? info.error.statusName : info.reason;
      this.#metrics.bindFailure?.(this.id, name);
      if (auth) this.#metrics.authFailure?.(this.id);
      this.#log.warn({ bind: slot.index, mode: slot.mode, failure: name, err: info.error?.message }, 'smpp bind failed');
    }
    slot.state = this.#stopping ? 'closed' : 'backoff';
    if (!this.isUp()) this.#failQueued();
    if (this.#stopping) {
      this.#setState(slot, 'closed');
      return;
    }
    const r = this.carrier.reconnect;
    const delay = auth
      ? Math.round(r.auth_failure_ms * (1 + 0.1 * this.#random()))
      : Math.floor(this.#random() * Math.min(r.max_ms, r.initial_ms * 2 ** Math.min(slot.attempt, 30)));
    slot.attempt++;
    this.#log.info({ bind: slot.index, reason: info.reason, delayMs: delay, attempt: slot.attempt }, 'smpp bind down: reconnecting after backoff');
    this.#setState(slot, 'backoff');
    slot.timer = setTimeout(() => {
      slot.timer = null;
      this.#metrics.reconnect?.(this.id);
      this.#connect(slot);
    }, delay);
  }

  #setState(slot: Slot, state: BindState['state']): void {
    slot.state = state;
    this.emit('bind', this.#stateOf(slot));
  }

  #stateOf(s: Slot): BindState {
    return {
      carrierId: this.id,
      bindIndex: s.index,
      state: s.state,
      mode: s.mode,
      inFlight: s.session?.inFlight ?? 0,
      window: this.carrier.window,
    };
  }

  #failQueued(): void {
    for (const w of [...this.#otp.drain(), ...this.#bulk.drain()]) w.resolve(DISCONNECTED);
  }

  // ---- submits ----------------------------------------------------------------------------

  /** The bound transmitter-capable session with the most free window, if any can take one now. */
  #pick(): SmppSession | null {
    let best: SmppSession | null = null;
    let bestFree = 0;
    for (const s of this.#slots) {
      const sess = s.session;
      if (sess === null || !sess.canSubmit()) continue;
      const free = sess.freeWindow;
      if (free > bestFree) {
        best = sess;
        bestFree = free;
      }
    }
    return best;
  }

  readonly #pump = (): void => {
    const limiter = this.#opts.limiter;
    while (this.#otp.length + this.#bulk.length > 0) {
      const session = this.#pick();
      if (session === null) return;
      if (limiter && limiter.tryTake(1) < 1) {
        if (this.#pumpTimer === null) {
          this.#pumpTimer = setTimeout(() => {
            this.#pumpTimer = null;
            this.#pump();
          }, Math.max(1, limiter.msUntilAvailable()));
        }
        return;
      }
      const w = (this.#otp.length > 0 ? this.#otp.shift() : this.#bulk.shift())!;
      this.#send(session, w);
    }
  };

  #send(session: SmppSession, w: Waiting): void {
    this.#inFlight++;
    this.#metrics.inFlight?.(this.id, this.#inFlight);
    const started = performance.now();
    session.submit(w.fields).then(
      (o) => this.#done(w, o, started),
      (e: Error) => {
        this.#log.error({ err: e.message, to: maskPhone(w.to) }, 'smpp submit failed to encode');
        this.#done(w, { kind: 'rejected', commandStatus: Status.ESME_RSYSERR, statusName: 'ESME_RSYSERR' }, started);
      },
    );
  }

  #done(w: Waiting, o: SubmitOutcome, started: number): void {
    this.#inFlight--;
    const m = this.#metrics;
    m.inFlight?.(this.id, this.#inFlight);
    if (o.kind === 'accepted' || o.kind === 'rejected') {
      m.submitResp?.(this.id, o.kind === 'accepted' ? 'ESME_ROK' : o.statusName);
      m.submitLatency?.(this.id, (performance.now() - started) / 1000);
      const limiter = this.#opts.limiter;
      if (limiter) {
        if (o.kind === 'accepted') limiter.onSuccess();
        else if (o.commandStatus === Status.ESME_RTHROTTLED) limiter.onThrottled();
      }
    } else m.submitNoResp?.(this.id, o.kind);
    if (o.kind !== 'accepted') this.#log.debug({ to: maskPhone(w.to), outcome: o.kind }, 'smpp submit not accepted');
    w.resolve(o);
    if (this.#inFlight === 0 && this.#idleWaiters.length > 0) {
      for (const f of this.#idleWaiters.splice(0)) f();
    }
  }

  #onDeliver(slot: Slot, pdu: Pdu, ack: (status?: number) => void): void {
    const d = toInboundDeliver(this.id, slot.index, pdu, ack);
    this.#metrics.deliver?.(this.id, d.isReceipt ? 'receipt' : 'mo');
    if (this.listenerCount('deliver') === 0) {
      ack(0x64 /* ESME_RX_T_APPN: nobody can commit it now, the SMSC retries later */);
      return;
    }
    this.emit('deliver', d);
  }
}
