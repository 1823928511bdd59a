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
import { weightedShares } from './lane-plan.js';
import { classifyStatus, retryDelayMs } from './retry-policy.js';

/** The rate gate of one carrier account (AdaptiveTokenBucket). */
export interface RateGate {
  /** Whole tokens available now. */
  readonly tokens: number;
  tryTake(n: number): number;
  msUntilAvailable(): number;
  onThrottled(): void;
  onSuccess(): void;
  readonly rate: number;
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
  /** Next carrier for failover, excluding those tried. */
  failoverCarrier: (to: string, category: Category, exclude: ReadonlySet<string>) => string | undefined;
  /** Called after each accepted submit (receipts held before their resp). */
  onAccepted?: (carrierId: string, carrierMsgId: string, segmentId: number) => void;
  onSubmitted?: (seg: ClaimedSegment, at: number) => void;
  /** Where a multipart's client cut it (SMPP server intake), to send its parts as they came. */
  partCuts?: (seg: ClaimedSegment) => readonly number[] | undefined;
  rng?: () => number;
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
  readonly #mSubmitted;

  constructor(deps: DispatcherDeps) {
    this.#d = deps;
    this.#mSubmitted = deps.metrics.hot.submitted;
  }

  start(tickMs = 25): void {
    this.#stopped = false;
    const tick = () => {
      if (this.#stopped) return;
      // The tick looks at every lane (scheduled messages come due, retries' backoff ends);
      // event-driven passes look only at lanes that may have work.
      this.wake(LANES);
      this.#timer = setTimeout(tick, tickMs);
      this.#timer.unref?.();
    };
    tick();
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

  async #pass(): Promise<void> {
    this.#running = true;
    try {
      if (this.#hint.size === 0) return;
      const now = this.#d.now();
      const plan = this.#plan(now);
      if (plan.length === 0) return;
      const lanes = new Set(this.#hint);
      // A lane stays hinted if some carrier's peek filled its request (there may be more).
      const full = new Set<Category>();
      for (const { rt, granted } of plan) {
        const segs = this.#take(rt, granted, now, lanes, full);
        rt.pending -= granted;
        if (segs.length === 0) continue;
        rt.rate.tryTake(segs.length);
        const claiming = (rt.claiming ??= new Set<number>());
        const ids = segs.map((s) => s.id);
        for (const id of ids) claiming.add(id);
        const release = () => {
          for (const id of ids) claiming.delete(id);
        };
        // Once committed, the `submitting` mark keeps the next peeks off these rows: the ids
        // leave the skip set then, not after the fsync (peeks would read past them meanwhile).
        this.#d.store.commit
          .run(() => this.#d.store.messages.markClaimed(ids, segs.map((s) => s.messageId), now), false, release)
          .catch((err: unknown) => this.#d.logger.error({ err }, 'claim write failed'))
          .finally(release);
        this.#send(rt, segs);
      }
      // Only when every usable carrier was asked can a lane be called drained.
      const allAsked = [...this.#d.carriers.values()].every((rt) => rt.paused || !rt.connector.isUp() || plan.some((p) => p.rt === rt));
      if (allAsked) for (const l of lanes) if (!full.has(l)) this.#hint.delete(l);
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

  /** Capacity per usable carrier, reserved now so concurrent passes do not overbook. */
  #plan(now: number): Array<{ rt: CarrierRuntime; granted: number }> {
    const out: Array<{ rt: CarrierRuntime; granted: number }> = [];
    for (const rt of this.#d.carriers.values()) {
      if (rt.paused || !rt.connector.isUp()) continue;
      const free = rt.connector.capacity() - rt.pending;
      if (free <= 0) continue;
      // Only the dispatcher takes tokens, so reading then taking what was claimed is race-free.
      const granted = Math.min(free, Math.floor(rt.rate.tokens), this.#d.config().queue.claim_batch);
      if (granted <= 0) {
        this.#later(rt.rate.msUntilAvailable());
        continue;
      }
      rt.pending += granted;
      out.push({ rt, granted });
    }
    void now;
    return out;
  }

  /** Due segments for one carrier: OTP first, then the weighted lanes, leftovers by priority. */
  #take(rt: CarrierRuntime, granted: number, now: number, lanes: ReadonlySet<Category>, full: Set<Category>): ClaimedSegment[] {
    const cfg = this.#d.config();
    const open = new Set<Category>();
    for (const l of ['notification', 'collection', 'marketing'] as const) if (lanes.has(l) && this.#d.laneOpen(l, now)) open.add(l);
    const id = rt.config.id;
    const skip = rt.claiming ?? new Set<number>();
    const m = this.#d.store.messages;
    const peeked = new Set<Category>();
    const peek = (lane: Category, n: number, except: ReadonlySet<number>) => {
      peeked.add(lane);
      const got = m.peekDue(id, lane, now, n, except);
      if (got.length >= n) full.add(lane);
      return got;
    };
    const segs = lanes.has('otp') ? peek('otp', granted, skip) : [];
    // Bulk never takes the last few slots of the window: a verification code arriving behind
    // a full window would otherwise wait for a whole window's resps (tens of ms under load).
    const total = rt.config.window * rt.config.binds;
    const reserve = total >= 10 ? Math.max(1, Math.floor(total / 50)) : 0;
    const otpCount = segs.length;
    let left = Math.min(granted, Math.max(0, rt.connector.capacity() - rt.pending + granted - reserve)) - otpCount;
    if (left > 0) {
      for (const [lane, share] of weightedShares(left, cfg.queue.lane_weights, open)) {
        if (share > 0) segs.push(...peek(lane, share, skip));
      }
      left -= segs.length - otpCount;
      // What a lane could not use goes to the others, in priority order.
      for (const lane of ['notification', 'collection', 'marketing'] as const) {
        if (left <= 0) break;
        // Skip a lane already seen to be drained; one not yet asked (a zero share) is asked now.
        if (!open.has(lane) || (peeked.has(lane) && !full.has(lane))) continue;
        const taken = new Set(segs.map((s) => s.id));
        const more = peek(lane, left, new Set([...skip, ...taken]));
        segs.push(...more);
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
      const part = parts.parts[seg.seq - 1] ?? parts.parts[parts.parts.length - 1]!;
      const rd = c.registered_delivery === 'all' || (c.registered_delivery === 'last' && seg.seq === seg.total);
      const out: OutboundSegment = {
        segmentId: seg.id,
        messageId: seg.messageId,
        to: seg.to.replace(/^\+/, ''),
        from: c.source.addr + (seg.from ?? ''),
        part,
        registeredDelivery: rd,
        lane: seg.lane,
      };
      this.#inFlight++;
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
    const now = this.#d.now();
    const c = rt.config;
    const cfg = this.#d.config();
    this.#d.metrics.submitLatency.labels(c.id).observe((now - started) / 1000);
    const retry = (countAttempt: boolean, errorCode: string, delayMs: number, carrierId?: string, tried?: string[]) => {
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
      const opts: { countAttempt: boolean; errorCode: string; carrierId?: string; tried?: string[] } = { countAttempt, errorCode };
      if (carrierId !== undefined) opts.carrierId = carrierId;
      if (tried !== undefined) opts.tried = tried;
      this.#write(() => this.#d.store.messages.requeue(seg.id, dueAt, opts));
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
        // In flight on a bind that dropped: back at once, sent on another bind. Not the message's fault.
        retry(false, 'disconnected', 0);
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
          const next = this.#d.failoverCarrier(seg.to, seg.lane, new Set(tried));
          if (next === undefined) retry(true, name, backoff());
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
