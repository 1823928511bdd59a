/**
 * Joins the parts of a concatenated reply (SPEC 7). Parts come out of order, twice (an
 * SMSC resends a deliver_sm whose resp it missed), or never; a message still missing
 * parts after `timeoutMs` from its first part is handed out by sweep() as partial rather
 * than lost. Memory is bounded by an LRU of `max` open messages and `maxBytes` of part
 * text: one pushed out by a flood is not dropped silently either. With `onEvict` it is
 * handed out at once (the caller stores it as a partial reply); without, it comes out of
 * the next sweep() as partial.
 */
import { LRUCache } from 'lru-cache';
import type { ConcatInfo } from './udh.js';

export interface ReassemblerOptions {
  /** How long after its first part an incomplete message is given up as partial. */
  timeoutMs: number;
  /** Open (incomplete) messages kept at most; also bounds the recently-completed memory. */
  max?: number;
  /** Bytes of part text (UTF-16 code units × 2) held at most over all open messages. */
  maxBytes?: number;
  /** Clock in ms, injected so tests need no sleeps. */
  now?: () => number;
  /** A message pushed out by the caps, handed out at once (none is ever dropped). */
  onEvict?: (p: PartialMessage) => void;
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
  bytes: number;
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
  readonly #onEvict: ((p: PartialMessage) => void) | undefined;

  constructor(opts: ReassemblerOptions) {
    if (!(opts.timeoutMs > 0)) throw new RangeError('timeoutMs must be positive');
    this.#timeoutMs = opts.timeoutMs;
    this.#max = opts.max ?? 10_000;
    this.#now = opts.now ?? Date.now;
    this.#onEvict = opts.onEvict;
    this.#open = new LRUCache<string, Entry>({
      max: this.#max,
      // The entry's size is what its parts hold so far, updated on every part (set again).
      ...(opts.maxBytes !== undefined ? { maxSize: opts.maxBytes, sizeCalculation: (e: Entry) => Math.max(1, e.bytes) } : {}),
      dispose: (entry, _k, reason) => {
        if (reason !== 'evict') return;
        const partial = toPartial(entry, 'evicted');
        if (this.#onEvict !== undefined) {
          this.#onEvict(partial);
          return;
        }
        this.#evicted.push(partial);
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
  add(key: string, concat: ConcatInfo, text: string, at?: number): AddResult {
    const { ref, total, seq } = concat;
    if (!(total > 1 && seq >= 1 && seq <= total)) return { complete: true, text };
    const id = `${key}\u0000${ref}\u0000${total}`;
    const now = at ?? this.#now();
    const done = this.#done.get(id);
    if (done) {
      if (now - done.at < this.#timeoutMs && done.parts[seq - 1] === text) return { complete: false, duplicate: true };
      this.#done.delete(id);
    }
    let entry = this.#open.get(id);
    if (!entry) {
      entry = { key, ref, total, parts: new Array<string | undefined>(total), received: 0, firstAt: now, bytes: 0 };
    }
    if (entry.parts[seq - 1] !== undefined) return { complete: false, duplicate: true };
    entry.parts[seq - 1] = text;
    entry.bytes += text.length * 2;
    if (++entry.received < total) {
      // (Re)set so the byte cap sees the entry's new size; may evict older entries.
      this.#open.set(id, entry);
      return { complete: false };
    }
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
