/**
 * BindPool: the Connector for one SMPP carrier account (SPEC 4). It keeps `binds`
 * persistent sessions (transceivers, or transmitters plus as many receivers), rebuilds
 * each one alone when it drops (the shared exponential backoff with jitter, reset only
 * after the bind has stayed up `reconnect.stable_after_s`; minutes after an authentication
 * failure so the carrier does not lock the account), and sends each submit on the bound
 * transmitter with the most free window. Submits beyond the free window wait in a small
 * internal queue (OTP first) and go out as resps free slots; when no transmitter is bound
 * they answer `disconnected` at once so the caller can requeue.
 *
 * A submit that times out (or gets a response of the wrong type) is sent again on another
 * bind of the carrier, never the one it failed on; until it goes out again, a late
 * submit_sm_resp from the first bind still settles it (no second SMS). A bind with a
 * timeout takes nothing new until it answers again, and after
 * `max_consecutive_timeouts` timeouts in a row it is unbound and rebuilt: an SMSC that
 * answers enquire_link but not submit_sm is a dead bind.
 *
 * Leased mode (issue 21, `leased: true`; off by default): no bind connects until its
 * account slot is opened with openSlot(k) (a cluster lease on it), and closeSlot(k) closes
 * it for good: `hard` destroys the socket at once (a lease that could not be renewed: no
 * wait on the SMSC), `soft` lets in-flight submits answer, unbinds and resolves when closed.
 * Submits in flight on a closed bind go to another bind or back to the caller exactly as
 * for a bind that dropped.
 *
 * Events: 'bind' (BindState, on every state change), 'deliver' (InboundDeliver: the
 * caller commits, then calls ack()).
 *
 * Over 400 lines on purpose: binds, the waiting queues and the per-segment retry across
 * binds share one state (slots, sessions, jobs, the rate limiter); split, it would go public.
 */
import { EventEmitter } from 'node:events';
import type tls from 'node:tls';
import { pino, type Logger } from 'pino';
import type { CarrierConfig } from '../../config/schema.js';
import type { BindState, Connector, ConnectorEvents, OutboundSegment, SubmitOutcome } from '../connector.js';
import { maskPhone } from '../../observability/redact.js';
import { Backoff } from '../../domain/backoff.js';
import { DISCONNECTED, gaveUp, newJob, settleJob, type Job } from './bind-jobs.js';
import { clearSlotTimers, layoutSlots, settleInFlight, type Slot, type SlotCloseMode } from './bind-slots.js';
import { monotonicNow, type MonotonicClock } from '../../domain/clock.js';
import type { Pdu } from './codec.js';
import { isAuthFailure, Status, statusName } from './command-status.js';
import { BindError } from './errors.js';
import { DropCounts, Fifo } from './fifo.js';
import type { SmppMetrics } from './metrics.js';
import { checkSubmitFields, submitFieldsFor, toInboundDeliver } from './pdu-mapping.js';
import { SmppSession, type SessionCloseInfo, type SessionSubmitOutcome } from './session.js';

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
  /** Monotonic clock for response deadlines and validity arithmetic; tests may drive it. */
  clock?: MonotonicClock;
  /** Leased mode (cluster bind slots): a bind connects only while its slot is open (openSlot). */
  leased?: boolean;
}

export class BindPool extends EventEmitter<ConnectorEvents> implements Connector {
  readonly id: string;
  readonly carrier: CarrierConfig;
  readonly #log: Logger;
  readonly #metrics: SmppMetrics;
  readonly #random: () => number;
  readonly #opts: BindPoolOptions;
  #slots: Slot[];
  #leased: boolean;
  readonly #otp = new Fifo<Job>();
  readonly #bulk = new Fifo<Job>();
  /** Jobs that timed out on a bind and wait for another one: before any new submit. */
  #retry: Job[] = [];
  readonly #drops = new DropCounts();
  readonly #clock: MonotonicClock;
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
    this.#clock = opts.clock ?? monotonicNow;
    this.#leased = opts.leased === true;
    this.#slots = this.#layout();
  }

  #layout(): Slot[] {
    const policy = () => ({ initialMs: this.carrier.reconnect.initial_ms, maxMs: this.carrier.reconnect.max_ms });
    return layoutSlots(this.carrier, this.#leased, () => new Backoff(policy, this.#random));
  }

  start(): void {
    if (this.#started) return;
    this.#started = true;
    for (const s of this.#slots) if (s.open) this.#connect(s);
  }

  /** Switches to leased mode (before start): no bind connects until openSlot. */
  useLeases(): void {
    if (this.#leased) return;
    if (this.#started) throw new RangeError(`carrier ${this.id}: leased mode must be chosen before start()`);
    this.#leased = true;
    this.#slots = this.#layout();
  }

  get leased(): boolean {
    return this.#leased;
  }

  /** Leased mode: account slot k may be bound now (its transceiver, or its transmitter and receiver). */
  openSlot(k: number): void {
    for (const s of this.#slotsOf(k)) {
      if (s.open) continue;
      s.open = true;
      if (this.#started && !this.#stopping && s.session === null && s.timer === null) this.#connect(s);
    }
  }

  /** Leased mode: close account slot k and keep it closed; resolves when its sessions are closed. */
  async closeSlot(k: number, how: SlotCloseMode): Promise<void> {
    const unbindMs = Math.min(2000, this.carrier.response_timeout_s * 1000);
    await Promise.all(
      this.#slotsOf(k).map(async (s) => {
        s.open = false;
        clearSlotTimers(s);
        const sess = s.session;
        if (sess === null) {
          if (s.state !== 'closed') this.#setState(s, 'closed');
          return;
        }
        const closed = sess.closed;
        // Not 'bound' from here on: #pick sends nothing new to it.
        if (s.state !== 'unbinding') this.#setState(s, 'unbinding');
        if (how === 'hard' || sess.state !== 'bound') sess.close('closed_by_owner');
        else {
          await settleInFlight(sess, unbindMs);
          await sess.unbind(unbindMs);
        }
        await closed;
      }),
    );
  }

  /**
   * Leased mode with no slot held: other nodes hold this account's binds. Not a carrier
   * outage: nothing here should fail its queue over to another carrier.
   */
  idleByLease(): boolean {
    return this.#leased && !this.#slots.some((s) => s.open);
  }

  /** The open account slots (leased mode; all of them otherwise). */
  openSlots(): number[] {
    return [...new Set(this.#slots.filter((s) => s.open).map((s) => s.lease))].sort((a, b) => a - b);
  }

  #slotsOf(k: number): Slot[] {
    if (!this.#leased) throw new RangeError(`carrier ${this.id}: openSlot/closeSlot need leased mode`);
    if (!Number.isInteger(k) || k < 0 || k >= this.carrier.binds) throw new RangeError(`carrier ${this.id}: no bind slot ${k} (binds ${this.carrier.binds})`);
    return this.#slots.filter((s) => s.lease === k);
  }

  capacity(): number {
    let free = 0;
    for (const s of this.#slots) if (s.session?.canSubmit()) free += s.session.freeWindow;
    return Math.max(0, free - this.#otp.length - this.#bulk.length - this.#retry.length);
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
    return this.#otp.length + this.#bulk.length + this.#retry.length;
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
      const job = newJob(seg, fields, resolve, this.#clock());
      (seg.lane === 'otp' ? this.#otp : this.#bulk).push(job);
      this.#pump();
    });
  }

  async stop(graceMs: number): Promise<void> {
    if (this.#stopping) return;
    this.#stopping = true;
    if (this.#pumpTimer) clearTimeout(this.#pumpTimer);
    this.#failQueued();
    for (const s of this.#slots) {
      clearSlotTimers(s);
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
    if (this.#stopping || !slot.open) return;
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
      clock: this.#clock,
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
    session.on('protocolError', (command) => this.#metrics.protocolError?.(this.id, command));
    session.on('malformedMessageId', () => this.#metrics.malformedMessageId?.(this.id));
    session.once('close', (info) => this.#onClose(slot, session, info));
    session.connect().then(
      () => {
        if (slot.session !== session || session.state !== 'bound') return;
        // Not reset here: an SMSC that accepts binds and drops them at once would be re-bound
        // every initial_ms for ever. Only a bind that stays up earns a fresh backoff.
        slot.stableTimer = setTimeout(() => {
          slot.stableTimer = null;
          if (slot.session === session && session.state === 'bound') slot.backoff.reset();
        }, c.reconnect.stable_after_s * 1000);
        slot.stableTimer.unref();
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
    if (slot.stableTimer) clearTimeout(slot.stableTimer);
    slot.stableTimer = null;
    if (info.wasBound) this.#metrics.bindState?.(this.id, slot.index, false);
    const auth = info.error instanceof BindError && isAuthFailure(info.error.commandStatus);
    if (!info.wasBound && !this.#stopping && slot.open) {
      const name = info.error instanceof BindError ? info.error.statusName : info.reason;
      this.#metrics.bindFailure?.(this.id, name);
      if (auth) this.#metrics.authFailure?.(this.id);
      this.#log.warn({ bind: slot.index, mode: slot.mode, failure: name, err: info.error?.message }, 'smpp bind failed');
    }
    slot.state = this.#stopping ? 'closed' : 'backoff';
    if (!this.isUp()) this.#failQueued();
    if (this.#stopping || !slot.open) {
      // Stopping, or its slot was closed (leased mode): it stays closed.
      this.#setState(slot, 'closed');
      return;
    }
    const r = this.carrier.reconnect;
    const delay = auth ? Math.round(r.auth_failure_ms * (1 + 0.1 * this.#random())) : slot.backoff.next();
    this.#log.info({ bind: slot.index, reason: info.reason, delayMs: delay, attempt: slot.backoff.failures }, 'smpp bind down: reconnecting after backoff');
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

  /** Nothing can be sent now: new submits go back to the caller; timed-out ones end as timeouts. */
  #failQueued(): void {
    for (const j of [...this.#otp.drain(), ...this.#bulk.drain()]) settleJob(j, DISCONNECTED);
    const retry = this.#retry;
    this.#retry = [];
    for (const j of retry) settleJob(j, gaveUp(j));
  }

  // ---- submits ----------------------------------------------------------------------------

  /**
   * The bound transmitter-capable session with the most free window that can take one now,
   * other than those in `avoid`. A bind with a recent timeout gets one probe at a time, and
   * only when no healthy bind is bound at all: with a healthy one it takes nothing after
   * its first timeout.
   */
  #pick(avoid?: ReadonlySet<SmppSession>): SmppSession | null {
    let best: SmppSession | null = null;
    let bestFree = 0;
    let healthyBound = false;
    let probe: SmppSession | null = null;
    for (const s of this.#slots) {
      const sess = s.session;
      if (sess === null || s.mode === 'receiver' || s.state !== 'bound' || avoid?.has(sess)) continue;
      if (sess.consecutiveTimeouts > 0) {
        if (probe === null && sess.canSubmit()) probe = sess;
        continue;
      }
      healthyBound = true;
      if (!sess.canSubmit()) continue;
      const free = sess.freeWindow;
      if (free > bestFree) {
        best = sess;
        bestFree = free;
      }
    }
    return best ?? (healthyBound ? null : probe);
  }

  /** A rate token, or false and a pump scheduled for when one is due. */
  #token(): boolean {
    const limiter = this.#opts.limiter;
    if (!limiter || limiter.tryTake(1) >= 1) return true;
    if (this.#pumpTimer === null) {
      this.#pumpTimer = setTimeout(() => {
        this.#pumpTimer = null;
        this.#pump();
      }, Math.max(1, limiter.msUntilAvailable()));
    }
    return false;
  }

  readonly #pump = (): void => {
    // Retries first (they are the oldest), each on a bind it has not failed on.
    for (let i = 0; i < this.#retry.length; ) {
      const job = this.#retry[i]!;
      const session = this.#pick(job.avoid ?? undefined);
      if (session === null) {
        i++;
        continue;
      }
      if (!this.#token()) return;
      this.#retry.splice(i, 1);
      if (job.hold) clearTimeout(job.hold);
      job.hold = null;
      this.#send(session, job);
    }
    while (this.#otp.length + this.#bulk.length > 0) {
      const session = this.#pick();
      if (session === null) return;
      if (!this.#token()) return;
      const job = (this.#otp.length > 0 ? this.#otp.shift() : this.#bulk.shift())!;
      this.#send(session, job);
    }
  };

  #send(session: SmppSession, job: Job): void {
    if (job.sends > 0 && job.seg.validityMs !== undefined) {
      // Sent again later: the validity left is shorter by the time since submit().
      job.fields = submitFieldsFor(this.carrier, { ...job.seg, validityMs: job.seg.validityMs - (this.#clock() - job.handedAt) });
    }
    job.sends++;
    this.#inFlight++;
    this.#metrics.inFlight?.(this.id, this.#inFlight);
    const started = performance.now();
    session.submit(job.fields, (late) => this.#onLate(job, late)).then(
      (o) => this.#answered(session, job, o, started),
      (e: Error) => {
        this.#log.error({ err: e.message, to: maskPhone(job.seg.to) }, 'smpp submit failed to encode');
        this.#answered(session, job, { kind: 'rejected', commandStatus: Status.ESME_RSYSERR, statusName: 'ESME_RSYSERR' }, started);
      },
    );
  }

  #answered(session: SmppSession, job: Job, o: SessionSubmitOutcome, started: number): void {
    this.#inFlight--;
    const m = this.#metrics;
    m.inFlight?.(this.id, this.#inFlight);
    switch (o.kind) {
      case 'accepted':
      case 'rejected':
        m.submitResp?.(this.id, o.kind === 'accepted' ? 'ESME_ROK' : o.statusName);
        m.submitLatency?.(this.id, (performance.now() - started) / 1000);
        this.#feedback(o);
        this.#drops.clear(job.seg.segmentId);
        settleJob(job, o);
        break;
      case 'timeout':
      case 'protocol_error':
        if (o.kind === 'timeout') {
          m.submitNoResp?.(this.id, 'timeout');
          this.#checkSilent(session);
        }
        this.#retryElsewhere(job, session, 'timeout');
        break;
      case 'disconnected': {
        m.submitNoResp?.(this.id, 'disconnected');
        if (job.settled) break;
        // The first drop with a segment in flight is not its fault; from the second on it may
        // be (a PDU that makes the SMSC cut the link), so the caller charges an attempt.
        const drops = this.#drops.add(job.seg.segmentId);
        if (drops < 2 && !this.#stopping && this.isUp()) this.#retryElsewhere(job, session, 'dropped');
        else settleJob(job, { kind: 'disconnected', inFlight: true, countsAsAttempt: drops >= 2 });
        break;
      }
    }
    if (o.kind !== 'accepted') this.#log.debug({ to: maskPhone(job.seg.to), outcome: o.kind }, 'smpp submit not accepted');
    if (this.#inFlight === 0 && this.#idleWaiters.length > 0) {
      for (const f of this.#idleWaiters.splice(0)) f();
    }
  }

  /** Adaptive rate: ESME_RTHROTTLED slows the account, accepted resps let it recover. */
  #feedback(o: SubmitOutcome): void {
    const limiter = this.#opts.limiter;
    if (!limiter) return;
    if (o.kind === 'accepted') limiter.onSuccess();
    else if (o.kind === 'rejected' && o.commandStatus === Status.ESME_RTHROTTLED) limiter.onThrottled();
  }

  /** Send it again on another bind; if none takes it within a response timeout, the caller gets `timeout`. */
  #retryElsewhere(job: Job, failedOn: SmppSession, why: 'timeout' | 'dropped'): void {
    if (job.settled) return;
    (job.avoid ??= new Set()).add(failedOn);
    job.failed = why;
    if (this.#stopping || !this.isUp() || job.sends > this.#slots.length) {
      settleJob(job, gaveUp(job));
      return;
    }
    this.#retry.push(job);
    job.hold = setTimeout(() => {
      job.hold = null;
      const i = this.#retry.indexOf(job);
      if (i >= 0) this.#retry.splice(i, 1);
      settleJob(job, gaveUp(job));
    }, this.carrier.response_timeout_s * 1000);
    this.#pump();
  }

  /** The late resp of a timed-out submit: it settles the segment unless that is already done. */
  #onLate(job: Job, o: Extract<SubmitOutcome, { kind: 'accepted' | 'rejected' }>): void {
    this.#feedback(o);
    this.#metrics.lateResp?.(this.id, job.settled ? 'ignored' : job.sends > 1 ? 'after_resend' : 'settled');
    if (job.settled) return;
    const i = this.#retry.indexOf(job);
    if (i >= 0) this.#retry.splice(i, 1);
    this.#drops.clear(job.seg.segmentId);
    settleJob(job, o);
  }

  /**
   * After a timeout: max_consecutive_timeouts in a row means the bind answers enquire_link
   * but not submit_sm, so it is taken out at once. Below that, a bind left with nothing in
   * flight cannot prove itself without risking a segment: unless a resp comes back within
   * another response timeout, it is taken out too.
   */
  #checkSilent(session: SmppSession): void {
    const slot = this.#slots.find((s) => s.session === session);
    if (slot === undefined || slot.state !== 'bound') return;
    if (session.consecutiveTimeouts >= this.carrier.max_consecutive_timeouts) {
      this.#takeOut(slot, session);
      return;
    }
    if (session.inFlight > 0) return;
    const t = setTimeout(() => {
      if (slot.session === session && slot.state === 'bound' && session.consecutiveTimeouts > 0 && session.inFlight === 0) this.#takeOut(slot, session);
    }, this.carrier.response_timeout_s * 1000);
    t.unref();
  }

  #takeOut(slot: Slot, session: SmppSession): void {
    this.#metrics.silentBind?.(this.id);
    this.#log.warn({ bind: slot.index, timeouts: session.consecutiveTimeouts }, 'smpp bind answers no submit_sm: unbinding and rebuilding it');
    this.#setState(slot, 'unbinding');
    void session.unbind(Math.min(2000, this.carrier.response_timeout_s * 1000));
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
