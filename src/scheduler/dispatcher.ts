/**
 * The dispatch loop (SPEC 1, 5): takes due segments from the store by carrier and lane
 * (OTP strictly first, the rest by weight), within each carrier's free window and rate
 * tokens, builds the PDU text and hands it to the carrier's connector; outcomes go to the
 * results writer or back to the queue. A claim is a read followed by an immediate send: its
 * `submitting` mark rides the next group commit instead of waiting for one (an OTP is on
 * the wire one pass after its 202, not one fsync later). Until that mark is committed the
 * segment ids sit in the carrier's `claiming` set so the next pass does not take them again.
 */
import type { Logger } from 'pino';
import { LANES, type Category } from '../domain/types.js';
import type { CarrierConfig, Config } from '../config/schema.js';
import type { Connector, OutboundSegment, SubmitOutcome } from '../carriers/connector.js';
import type { ClaimedSegment } from '../store/types.js';
import type { Store } from '../store/index.js';
import type { Metrics } from '../observability/metrics.js';
import type { ResultsWriter } from '../results/writer.js';
import { segmentText, type SegmentedText } from '../encoding/index.js';
import { LaneScheduler, WEIGHTED_LANES } from './lane-plan.js';
import { classifyStatus, retryDelayMs } from './retry-policy.js';
import { FailoverPlanner } from './failover-plan.js';

/** The rate gate of one carrier account (AdaptiveTokenBucket). */
export interface RateGate {
  /** Whole tokens available now. */
  readonly tokens: number;
  tryTake(n: number): number;
  /** Milliseconds until n (default 1) whole tokens are available. */
  msUntilAvailable(n?: number): number;
  /** Whole tokens the bucket can hold now (a claim never waits for more). */
  readonly capacity?: number;
  onThrottled(): void;
  onSuccess(): void;
  readonly rate: number;
  /** A reload changed tps or burst: keep the adaptive state (absent: the gate is rebuilt). */
  retune?(tps: number, burst?: number): void;
}

export interface CarrierRuntime {
  config: CarrierConfig;
  connector: Connector;
  rate: RateGate;
  paused: boolean;
  /** Claimed, not yet handed to the connector. */
  pending: number;
  /** Sent, `submitting` not yet committed. */
  claiming?: Set<number>;
  downSince: number | undefined;
  /** The config the connector's binds were built with (reload compares bind keys with it). */
  running?: CarrierConfig;
  /** Bind keys changed by a reload that wait for a restart. */
  pendingRestart?: string[];
}

export interface DispatcherDeps {
  config: () => Config;
  store: Store;
  carriers: Map<string, CarrierRuntime>;
  results: ResultsWriter;
  metrics: Metrics;
  logger: Logger;
  now: () => number;
  /** Quiet hours, checked again at dispatch. */
  laneOpen: (lane: Category, now: number) => boolean;
  /** Decrypt a sealed body (OTP) just to build the PDU. */
  openBody: (sealed: Buffer) => string;
  /** Carriers to fail over to, in preference order and available now, excluding those tried. */
  failoverCandidates: (to: string, category: Category, exclude: ReadonlySet<string>) => string[];
  /** Called after each accepted submit (receipts held before their resp). */
  onAccepted?: (carrierId: string, carrierMsgId: string, segmentId: number) => void;
  onSubmitted?: (seg: ClaimedSegment, at: number) => void;
  /** Where a multipart's client cut it (SMPP server intake), to send its parts as they came. */
  partCuts?: (seg: ClaimedSegment) => readonly number[] | undefined;
  rng?: () => number;
  /**
   * Under a carrier's rate limit, bulk is claimed at most once per this many ms of its rate
   * (0 or absent: at every token). On PostgreSQL a claim is a round trip and a planned
   * statement: claiming one token at a time cost a claim per message, and three daemons at
   * 500 tps spent more CPU polling than sending. Verification codes never wait for it.
   */
  bulkClaimMs?: number;
  /**
   * The tick asks the store which lanes hold due work (one probe) instead of claiming from
   * every lane: on PostgreSQL each claim of an empty lane is a planned statement on the
   * shared queue, from every node, every tick.
   */
  probeDueOnTick?: boolean;
}

/** OTPs per carrier a staged claim may take (a code's own COMMIT carries it). */
const STAGED_OTP_CLAIM = 8;

interface StagedClaim {
  rt: CarrierRuntime;
  limit: number;
  rows: () => ClaimedSegment[] | undefined;
}

export class Dispatcher {
  readonly #d: DispatcherDeps;
  #running = false;
  #again = false;
  /** Nothing is dispatched before start(). */
  #stopped = true;
  #timer: NodeJS.Timeout | undefined;
  #immediate: NodeJS.Immediate | undefined;
  #inFlight = 0;
  /** Lanes that may hold due work; a pass drops the ones it found drained. */
  readonly #hint = new Set<Category>(LANES);
  /** The tick's due-lanes probe failed last time (logged once per outage). */
  #probeFailed = false;
  /** Messages with segments sent whose `submitting` mark is not yet committed (count of segments). */
  readonly #claimingMsgs = new Map<string, number>();
  /** Per carrier: the weighted lanes' credit, carried from pass to pass. */
  readonly #lanes = new Map<string, LaneScheduler>();
  /** OTP claims sent with a verification code's COMMIT (stageOtpClaim), sent by the next pass. */
  #staged: StagedClaim[] | undefined;
  readonly #mSubmitted;
  /** Segments handed to a connector whose outcome is not handled yet. */
  readonly #sent = new Set<number>();
  /** What failover does to a message: move it whole, or re-plan it for the new carrier. */
  readonly failover: FailoverPlanner;

  constructor(deps: DispatcherDeps) {
    this.#d = deps;
    this.failover = new FailoverPlanner({
      messages: deps.store.messages,
      carrier: (id) => deps.carriers.get(id)?.config,
      openBody: deps.openBody,
      inFlight: (id) => this.#sent.has(id),
    });
    this.#mSubmitted = deps.metrics.hot.submitted;
    // Cancel and claim are exclusive: a cancel committed before the claim's mark sees the claim here.
    deps.store.messages.setClaimCheck((id) => this.#claimingMsgs.has(id));
  }

  start(tickMs = 25): void {
    this.#stopped = false;
    const tick = () => {
      if (this.#stopped) return;
      // The tick looks at every lane (scheduled messages come due, retries' backoff ends);
      // event-driven passes look only at lanes that may have work.
      const lanes = this.#d.probeDueOnTick === true ? this.#dueLanes() : LANES;
      if (lanes.length > 0) this.wake(lanes);
      this.#timer = setTimeout(tick, tickMs);
      this.#timer.unref?.();
    };
    tick();
  }

  /** Lanes with a segment due now for a usable carrier: one probe instead of a claim per lane. */
  #dueLanes(): readonly Category[] {
    const ids = [...this.#d.carriers.values()].filter((rt) => !rt.paused && rt.connector.isUp()).map((rt) => rt.config.id);
    if (ids.length === 0) return [];
    try {
      const now = this.#d.now();
      const due = this.#d.store.messages.oldestQueuedDue(ids);
      this.#probeFailed = false;
      return LANES.filter((l) => due[l] !== undefined && due[l]! <= now);
    } catch (err) {
      // The store is away: the passes find out too; the tick must not stop, and says so once
      // (not ten times a second) until the probe works again.
      if (!this.#probeFailed) this.#d.logger.warn({ err }, 'due-lanes probe failed');
      this.#probeFailed = true;
      return LANES;
    }
  }

  stop(): void {
    this.#stopped = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    if (this.#immediate !== undefined) clearImmediate(this.#immediate);
  }

  /** Submits handed to connectors and not yet answered. */
  inFlight(): number {
    return this.#inFlight;
  }

  /**
   * Segments left `submitting` for `staleMs` with no outcome coming (the write of their
   * outcome failed) go back to the queue: at-least-once, as after a restart (issue 14.5).
   */
  requeueStale(staleMs: number): void {
    const now = this.#d.now();
    this.#d.store.commit
      .run(() => this.#d.store.messages.requeueStaleSubmitting(now - staleMs, now, (id) => this.#sent.has(id), 1000))
      .then((n) => {
        if (n === 0) return;
        this.#d.logger.warn({ segments: n }, 'segments left submitting with no outcome coming are queued again (at-least-once)');
        this.wake(LANES);
      })
      .catch((err: unknown) => this.#d.logger.error({ err }, 'stale submitting sweep failed'));
  }

  /** This segment was handed to a connector and its outcome is not handled yet. */
  isSent(segmentId: number): boolean {
    return this.#sent.has(segmentId);
  }

  /**
   * Run a pass soon (coalesced: many wakes in one tick give one pass). `lanes`: lanes that
   * may have new due work (an accept, a requeue); without it, capacity freed up and the
   * lanes still known to hold work are looked at.
   */
  wake(lanes?: Iterable<Category>): void {
    if (lanes !== undefined) for (const l of lanes) this.#hint.add(l);
    if (this.#stopped) return;
    if (this.#running) {
      this.#again = true;
      return;
    }
    if (this.#immediate !== undefined) return;
    this.#immediate = setImmediate(() => {
      this.#immediate = undefined;
      void this.#pass();
    });
  }

  /** Run a pass now, in this turn (an OTP just committed): no wait for the next turn of the loop. */
  passNow(lanes: Iterable<Category>): void {
    for (const l of lanes) this.#hint.add(l);
    if (this.#stopped) return;
    if (this.#running) {
      this.#again = true;
      return;
    }
    void this.#pass();
  }

  /**
   * PostgreSQL (GroupCommit.beforeUrgentCommit): inside a verification code's own
   * transaction, the OTP claim of every usable carrier goes with its COMMIT; passNow, right
   * after the commit, sends what it claimed. One round trip fewer on the code's way.
   */
  stageOtpClaim(): void {
    const m = this.#d.store.messages;
    const claimDueAtCommit = m.claimDueAtCommit?.bind(m);
    if (claimDueAtCommit === undefined || this.#stopped || this.#running || this.#staged !== undefined) return;
    const now = this.#d.now();
    const staged: StagedClaim[] = [];
    const plan = this.#plan(now, true);
    const held = plan.map((p) => p.granted);
    try {
      plan.forEach(({ rt, granted }, i) => {
        const limit = Math.min(granted, STAGED_OTP_CLAIM);
        staged.push({ rt, limit, rows: claimDueAtCommit(rt.config.id, 'otp', now, limit, rt.claiming ?? new Set<number>()) });
        rt.pending -= granted - limit;
        held[i] = limit;
      });
    } catch (err) {
      // Nothing is staged: every grant goes back (see #pass).
      plan.forEach(({ rt }, i) => (rt.pending -= held[i]!));
      throw err;
    }
    if (staged.length > 0) this.#staged = staged;
  }

  /** Sends what a staged claim took (nothing if its transaction failed); true if the OTP lane is known drained. */
  #sendStaged(): boolean {
    const staged = this.#staged;
    if (staged === undefined) return false;
    this.#staged = undefined;
    const now = this.#d.now();
    let drained = true;
    // Every grant back before anything is sent: a send that throws must not keep the others'.
    for (const { rt, limit } of staged) rt.pending -= limit;
    for (const { rt, limit, rows } of staged) {
      const segs = rows();
      if (segs === undefined || segs.length >= limit) drained = false;
      if (segs !== undefined && segs.length > 0) this.#dispatch(rt, segs, now);
    }
    const usable = [...this.#d.carriers.values()].filter((rt) => !rt.paused && rt.connector.isUp());
    return drained && usable.every((rt) => staged.some((x) => x.rt === rt));
  }

  async #pass(): Promise<void> {
    this.#running = true;
    try {
      if (this.#sendStaged()) this.#hint.delete('otp');
      if (this.#hint.size === 0) return;
      const now = this.#d.now();
      const lanes = new Set(this.#hint);
      const plan = this.#plan(now, lanes.has('otp'));
      if (plan.length === 0) return;
      // A lane stays hinted if some carrier's peek filled its request (there may be more).
      const full = new Set<Category>();
      const asked = new Set<Category>();
      // The window slots each carrier was granted, until this pass gives them back. A store
      // error mid-pass (the database restarting) must give back the rest too: kept, they would
      // hold the window for good and the carrier would never be sent to again.
      const held = plan.map((p) => p.granted);
      try {
        plan.forEach(({ rt, granted, bulk: bulkDue }, i) => {
          // A verification code goes on the wire before the bulk claim of this carrier is read.
          const otp = lanes.has('otp') ? this.#peek(rt, 'otp', granted, now, full, asked) : [];
          if (otp.length > 0) this.#dispatch(rt, otp, now);
          rt.pending -= otp.length;
          held[i] = granted - otp.length;
          const bulk = bulkDue ? this.#takeBulk(rt, granted - otp.length, now, lanes, full, asked) : [];
          rt.pending -= granted - otp.length;
          held[i] = 0;
          if (bulk.length > 0) this.#dispatch(rt, bulk, now);
        });
      } finally {
        plan.forEach(({ rt }, i) => (rt.pending -= held[i]!));
      }
      // Only when every usable carrier was asked can a lane be called drained.
      const allAsked = [...this.#d.carriers.values()].every((rt) => rt.paused || !rt.connector.isUp() || plan.some((p) => p.rt === rt));
      // A lane no peek asked (no slot for it this pass) may still hold work: it stays hinted.
      if (allAsked) for (const l of lanes) if (asked.has(l) && !full.has(l)) this.#hint.delete(l);
    } catch (err) {
      this.#d.logger.error({ err }, 'dispatch pass failed');
    } finally {
      this.#running = false;
      if (this.#again) {
        this.#again = false;
        this.wake();
      }
    }
  }

  /** Mark claimed segments as being claimed (skipped by the next peeks), then send them. */
  #dispatch(rt: CarrierRuntime, segs: ClaimedSegment[], now: number): void {
    rt.rate.tryTake(segs.length);
    const claiming = (rt.claiming ??= new Set<number>());
    const ids = segs.map((s) => s.id);
    for (const id of ids) claiming.add(id);
    for (const s of segs) this.#claimingMsgs.set(s.messageId, (this.#claimingMsgs.get(s.messageId) ?? 0) + 1);
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      for (const id of ids) claiming.delete(id);
      for (const s of segs) {
        const n = (this.#claimingMsgs.get(s.messageId) ?? 1) - 1;
        if (n <= 0) this.#claimingMsgs.delete(s.messageId);
        else this.#claimingMsgs.set(s.messageId, n);
      }
    };
    // Once committed, the `submitting` mark keeps the next peeks off these rows: the ids
    // leave the skip set then, not after the fsync (peeks would read past them meanwhile).
    this.#d.store.commit
      .run(() => this.#d.store.messages.markClaimed(ids, segs.map((s) => s.messageId), now), false, release)
      .catch((err: unknown) => this.#d.logger.error({ err }, 'claim write failed'))
      .finally(release);
    this.#send(rt, segs);
  }

  /**
   * Capacity per usable carrier, reserved now so concurrent passes do not overbook. `urgent`
   * (a verification code may be due): a single token is enough for the OTP lane; bulk
   * (`bulk`) waits for `bulkClaimMs` worth of tokens either way.
   */
  #plan(now: number, urgent: boolean): Array<{ rt: CarrierRuntime; granted: number; bulk: boolean }> {
    const out: Array<{ rt: CarrierRuntime; granted: number; bulk: boolean }> = [];
    const claimBatch = this.#d.config().queue.claim_batch;
    for (const rt of this.#d.carriers.values()) {
      if (rt.paused || !rt.connector.isUp()) continue;
      const free = rt.connector.capacity() - rt.pending;
      if (free <= 0) continue;
      const leastBulk = this.#leastBulkClaim(rt, Math.min(free, claimBatch));
      // Only the dispatcher takes tokens, so reading then taking what was claimed is race-free.
      const whole = Math.floor(rt.rate.tokens);
      if (whole < leastBulk) this.#later(rt.rate.msUntilAvailable(leastBulk));
      if (whole < (urgent ? 1 : leastBulk)) continue;
      const granted = Math.min(free, whole, claimBatch);
      rt.pending += granted;
      out.push({ rt, granted, bulk: whole >= leastBulk });
    }
    void now;
    return out;
  }

  /** The fewest tokens worth a bulk claim: `bulkClaimMs` of the carrier's current rate, within `most` and the bucket. */
  #leastBulkClaim(rt: CarrierRuntime, most: number): number {
    const ms = this.#d.bulkClaimMs ?? 0;
    if (ms <= 0) return 1;
    return Math.max(1, Math.min(most, rt.rate.capacity ?? 1, Math.floor((rt.rate.rate * ms) / 1000)));
  }

  /** Due segments of one lane for one carrier (claimed, on PostgreSQL). */
  #peek(rt: CarrierRuntime, lane: Category, n: number, now: number, full: Set<Category>, asked: Set<Category>, except?: ReadonlySet<number>): ClaimedSegment[] {
    asked.add(lane);
    const got = this.#d.store.messages.peekDue(rt.config.id, lane, now, n, except ?? rt.claiming ?? new Set<number>());
    if (got.length >= n) full.add(lane);
    return got;
  }

  /** Due bulk segments for one carrier (`granted` left after its OTPs): the weighted lanes, leftovers by priority. */
  #takeBulk(rt: CarrierRuntime, granted: number, now: number, lanes: ReadonlySet<Category>, full: Set<Category>, asked: Set<Category>): ClaimedSegment[] {
    const cfg = this.#d.config();
    const open = new Set<Category>();
    for (const l of WEIGHTED_LANES) if (lanes.has(l) && this.#d.laneOpen(l, now)) open.add(l);
    const id = rt.config.id;
    const skip = rt.claiming ?? new Set<number>();
    const peeked = new Set<Category>();
    const peek = (lane: Category, n: number, except: ReadonlySet<number>) => {
      peeked.add(lane);
      return this.#peek(rt, lane, n, now, full, asked, except);
    };
    const segs: ClaimedSegment[] = [];
    // Bulk never takes the last few slots of the window: a verification code arriving behind
    // a full window would otherwise wait for a whole window's resps (tens of ms under load).
    const total = rt.config.window * rt.config.binds;
    const reserve = total >= 10 ? Math.max(1, Math.floor(total / 50)) : 0;
    let left = Math.min(granted, Math.max(0, rt.connector.capacity() - rt.pending + granted - reserve));
    if (left > 0) {
      let sched = this.#lanes.get(id);
      if (sched === undefined) this.#lanes.set(id, (sched = new LaneScheduler()));
      const weights = cfg.queue.lane_weights;
      for (const [lane, share] of sched.allocate(left, weights, open)) {
        const got = peek(lane, share, skip);
        segs.push(...got);
        sched.charge(lane, got.length, weights, got.length >= share);
      }
      left -= segs.length;
      // What a lane could not use goes to the others, in priority order (and is charged to them).
      for (const lane of WEIGHTED_LANES) {
        if (left <= 0) break;
        // Skip a lane already seen to be drained; one not yet asked (a zero share) is asked now.
        if (!open.has(lane) || (peeked.has(lane) && !full.has(lane))) continue;
        const taken = new Set(segs.map((s) => s.id));
        const more = peek(lane, left, new Set([...skip, ...taken]));
        segs.push(...more);
        sched.charge(lane, more.length, weights, more.length >= left);
        left -= more.length;
      }
    }
    return segs;
  }

  #send(rt: CarrierRuntime, segs: ClaimedSegment[]): void {
    const now = this.#d.now();
    const texts = new Map<string, SegmentedText>();
    const c = rt.config;
    for (const seg of segs) {
      if (now >= seg.expiresAt) {
        this.#write(() => this.#d.results.segmentEnded(seg, 'expired', now, 'expired', 'validity passed before sending'));
        continue;
      }
      let parts = texts.get(seg.messageId);
      if (parts === undefined) {
        try {
          if (seg.text === null && seg.bodyEnc === null) throw new Error('body purged');
          const text = seg.text ?? this.#d.openBody(seg.bodyEnc!);
          parts = segmentText(text, {
            segmentation: seg.segmentation,
            encodings: c.encodings,
            forceUcs2: seg.encoding === 'ucs2',
            packGsm7: c.pack_gsm7,
            reference: seg.concatRef,
            cuts: seg.total > 1 ? this.#d.partCuts?.(seg) : undefined,
          });
        } catch (err) {
          this.#d.logger.error({ err: { message: (err as Error).message }, messageId: seg.messageId }, 'cannot build message text');
          this.#write(() => this.#d.results.segmentEnded(seg, 'failed', now, 'encode_error'));
          continue;
        }
        texts.set(seg.messageId, parts);
      }
      const part = parts.parts[seg.seq - 1];
      // Never a part in place of another: a text that no longer makes the stored parts on this
      // carrier (its settings changed under a queued message) is not sent piecemeal.
      if (part === undefined || parts.parts.length !== seg.total) {
        // (A reload changed the carrier's encodings or segmentation.) Re-planned for this carrier
        // while none of its parts is out; else it ends, never sent with the wrong parts.
        const made = parts.parts.length;
        this.#write(() => {
          const moved = this.failover.move(seg.messageId, [c.id], { failing: seg.id, dueAt: now, tried: [...seg.triedCarriers], countAttempt: false });
          if (moved.kind !== 'stay') return;
          this.#d.logger.error({ messageId: seg.messageId, carrier: c.id, parts: made, stored: seg.total }, 'message plan does not match this carrier: not sent');
          this.#d.results.segmentEnded(seg, 'failed', now, 'plan_mismatch', `carrier ${c.id} makes ${made} parts of it, ${seg.total} stored`);
        });
        this.#hint.add(seg.lane);
        continue;
      }
      const rd = c.registered_delivery === 'all' || (c.registered_delivery === 'last' && seg.seq === seg.total);
      const out: OutboundSegment = {
        segmentId: seg.id,
        messageId: seg.messageId,
        to: seg.to.replace(/^\+/, ''),
        from: c.source.addr + (seg.from ?? ''),
        part,
        registeredDelivery: rd,
        lane: seg.lane,
        validityMs: seg.expiresAt - now,
      };
      this.#inFlight++;
      this.#sent.add(seg.id);
      this.#mSubmitted(c.id, seg.lane).inc();
      this.#d.onSubmitted?.(seg, now);
      const started = now;
      rt.connector.submit(out).then(
        (o) => this.#outcome(rt, seg, o, started),
        (err: unknown) => {
          this.#d.logger.error({ err: { message: (err as Error).message }, carrier: c.id }, 'connector submit threw');
          this.#outcome(rt, seg, { kind: 'disconnected' }, started);
        },
      );
    }
  }

  #outcome(rt: CarrierRuntime, seg: ClaimedSegment, o: SubmitOutcome, started: number): void {
    this.#inFlight--;
    this.#sent.delete(seg.id);
    const now = this.#d.now();
    const c = rt.config;
    const cfg = this.#d.config();
    this.#d.metrics.submitLatency.labels(c.id).observe((now - started) / 1000);
    const retry = (countAttempt: boolean, errorCode: string, delayMs: number, failoverTo?: string[], tried?: string[]) => {
      const attempts = seg.attempts + (countAttempt ? 1 : 0);
      if (countAttempt && attempts >= cfg.queue.max_attempts) {
        this.#write(() => this.#d.results.segmentEnded(seg, 'failed', now, errorCode, 'retry budget exhausted'));
        return;
      }
      const dueAt = now + delayMs;
      if (dueAt >= seg.expiresAt) {
        this.#write(() => this.#d.results.segmentEnded(seg, 'expired', now, errorCode, 'validity passed before a retry'));
        return;
      }
      this.#write(() => {
        if (failoverTo !== undefined && failoverTo.length > 0) {
          // The whole message moves, or is re-planned for the new carrier; else it stays here.
          const moved = this.failover.move(seg.messageId, failoverTo, { failing: seg.id, dueAt, tried: tried ?? [], countAttempt, errorCode });
          if (moved.kind !== 'stay') return;
          this.#d.store.messages.requeue(seg.id, now + backoff(), { countAttempt, errorCode });
          return;
        }
        this.#d.store.messages.requeue(seg.id, dueAt, { countAttempt, errorCode });
      });
      this.#hint.add(seg.lane);
    };
    const backoff = () => retryDelayMs(seg.attempts + 1, cfg.queue.retry_initial_ms, cfg.queue.retry_max_ms, this.#d.rng);

    switch (o.kind) {
      case 'accepted': {
        rt.rate.onSuccess();
        const finalOnSubmit = c.registered_delivery === 'none';
        this.#d.metrics.acceptToResp.labels(seg.lane).observe(Math.max(0, now - seg.createdAt) / 1000);
        this.#write(() => this.#d.results.accepted(seg, o.carrierMessageId, now, finalOnSubmit));
        this.#d.onAccepted?.(c.id, o.carrierMessageId, seg.id);
        break;
      }
      case 'disconnected':
        // In flight on a bind that dropped: back at once, sent on another bind. Not the message's
        // fault the first time; from its second drop on it may be (the connector says so).
        if (o.countsAsAttempt === true) retry(true, 'disconnected', backoff());
        else retry(false, 'disconnected', 0);
        break;
      case 'timeout':
        retry(true, 'timeout', backoff());
        break;
      case 'rejected': {
        const name = o.statusName;
        if (name === 'ESME_RTHROTTLED') {
          rt.rate.onThrottled();
          retry(false, name, Math.ceil(1000 / Math.max(1, rt.rate.rate)));
          break;
        }
        const cls = classifyStatus(name, c.errors, seg.attempts);
        if (cls === 'temporary') retry(true, name, backoff());
        else if (cls === 'failover') {
          const tried = [...new Set([...seg.triedCarriers, c.id])];
          const next = this.#d.failoverCandidates(seg.to, seg.lane, new Set(tried));
          if (next.length === 0) retry(true, name, backoff());
          else retry(true, name, 0, next, tried);
        } else {
          this.#write(() => this.#d.results.segmentEnded(seg, 'rejected', now, name));
        }
        break;
      }
    }
    this.wake();
  }

  #write(fn: () => void): void {
    this.#d.store.commit.run(fn).catch((err: unknown) => this.#d.logger.error({ err }, 'result write failed'));
  }

  #later(ms: number): void {
    if (!Number.isFinite(ms) || ms <= 0) return;
    const t = setTimeout(() => this.wake(), Math.min(ms, 1000));
    t.unref?.();
  }
}
