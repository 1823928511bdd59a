/**
 * Joins the parts of a concatenated reply (SPEC 7). Parts come out of order, twice (an
 * SMSC resends a deliver_sm whose resp it missed), or never; a message still missing
 * parts after `timeoutMs` from its first part is handed out by sweep() as partial rather
 * than lost. Memory is bounded by an LRU of `max` open messages: one pushed out by a
 * flood is not dropped silently either, it comes out of the next sweep() as partial.
 */
import { LRUCache } from 'lru-cache';
import type { ConcatInfo } from './udh.js';

export interface ReassemblerOptions {
  /** How long after its first part an incomplete message is given up as partial. */
  timeoutMs: number;
  /** Open (incomplete) messages kept at most; also bounds the recently-completed memory. */
  max?: number;
  /** Clock in ms, injected so tests need no sleeps. */
  now?: () => number;
}

export type AddResult = { complete: true; text: string } | { complete: false; duplicate?: true };

export interface PartialMessage {
  /** The caller's key (e.g. source and destination), as given to add(). */
  key: string;
  ref: number;
  total: number;
  /** The parts that came, in sequence order, joined. */
  text: string;
  partial: true;
  /** 1-based sequence numbers that never came. */
  missing: number[];
  reason: 'timeout' | 'evicted';
}

interface Entry {
  key: string;
  ref: number;
  total: number;
  parts: (string | undefined)[];
  received: number;
  firstAt: number;
}

interface Done {
  parts: readonly string[];
  at: number;
}

export class Reassembler {
  readonly #timeoutMs: number;
  readonly #max: number;
  readonly #now: () => number;
  readonly #open: LRUCache<string, Entry>;
  /** Completed messages, so that a late resent part is not mistaken for a new message. */
  readonly #done: LRUCache<string, Done>;
  #evicted: PartialMessage[] = [];

  constructor(opts: ReassemblerOptions) {
    if (!(opts.timeoutMs > 0)) throw new RangeError('timeoutMs must be positive');
    this.#timeoutMs = opts.timeoutMs;
    this.#max = opts.max ?? 10_000;
    this.#now = opts.now ?? Date.now;
    this.#open = new LRUCache<string, Entry>({
      max: this.#max,
      dispose: (entry, _k, reason) => {
        if (reason !== 'evict') return;
        this.#evicted.push(toPartial(entry, 'evicted'));
        // Bounded too, in case sweep() is not called for a while: oldest go first.
        if (this.#evicted.length > this.#max) this.#evicted.shift();
      },
    });
    this.#done = new LRUCache<string, Done>({ max: this.#max });
  }

  /** Open messages (for a gauge). */
  get size(): number {
    return this.#open.size;
  }

  /**
   * Adds one part. `key` identifies the conversation (source and destination); the
   * message is keyed by it plus ref and total. A single-part or malformed concat
   * (seq outside 1..total) is complete at once.
   */
  add(key: string, concat: ConcatInfo, text: string): AddResult {
    const { ref, total, seq } = concat;
    if (!(total > 1 && seq >= 1 && seq <= total)) return { complete: true, text };
    const id = `${key}\u0000${ref}\u0000${total}`;
    const now = this.#now();
    const done = this.#done.get(id);
    if (done) {
      if (now - done.at < this.#timeoutMs && done.parts[seq - 1] === text) return { complete: false, duplicate: true };
      this.#done.delete(id);
    }
    let entry = this.#open.get(id);
    if (!entry) {
      entry = { key, ref, total, parts: new Array<string | undefined>(total), received: 0, firstAt: now };
      this.#open.set(id, entry);
    }
    if (entry.parts[seq - 1] !== undefined) return { complete: false, duplicate: true };
    entry.parts[seq - 1] = text;
    if (++entry.received < total) return { complete: false };
    this.#open.delete(id);
    const parts = entry.parts as string[];
    this.#done.set(id, { parts, at: now });
    return { complete: true, text: parts.join('') };
  }

  /** Removes and returns messages past their timeout, and any pushed out by the LRU. */
  sweep(): PartialMessage[] {
    const now = this.#now();
    const out = this.#evicted;
    this.#evicted = [];
    const expired: string[] = [];
    for (const [id, entry] of this.#open.entries()) {
      if (now - entry.firstAt >= this.#timeoutMs) expired.push(id);
    }
    for (const id of expired) {
      out.push(toPartial(this.#open.peek(id)!, 'timeout'));
      this.#open.delete(id);
    }
    return out;
  }
}

function toPartial(entry: Entry, reason: PartialMessage['reason']): PartialMessage {
  const missing: number[] = [];
  for (let i = 0; i < entry.total; i++) if (entry.parts[i] === undefined) missing.push(i + 1);
  const text = entry.parts.filter((p): p is string => p !== undefined).join('');
  return { key: entry.key, ref: entry.ref, total: entry.total, text, partial: true, missing, reason };
}
