/**
 * Receipts held for their submit_sm_resp (SPEC 7, issue 14.5/14.6). Each is stored (the
 * caller writes it in the same commit that precedes its deliver_sm_resp) and mirrored here
 * under every id form it may match (dlr_id: auto gives up to three), so it is one receipt,
 * resolved and counted once. Bounded by count and bytes: past either cap the oldest is
 * evicted (the caller counts it and deletes its row). Pure bookkeeping, no I/O, no timers.
 */
import type { Receipt } from './receipt-parse.js';

export interface HeldReceipt {
  /** The store row's id. */
  id: number;
  carrierId: string;
  /** Normalised id forms it matches (candidateIds). */
  keys: readonly string[];
  receipt: StoredReceipt;
  at: number;
  bytes: number;
}

/** What applying a receipt needs, as stored. */
export type StoredReceipt = Pick<Receipt, 'id' | 'stat' | 'rawStat' | 'textStat' | 'conflict' | 'err'>;

export const toStored = (r: Receipt): StoredReceipt => {
  const s: StoredReceipt = { stat: r.stat, conflict: r.conflict };
  if (r.id !== undefined) s.id = r.id;
  if (r.rawStat !== undefined) s.rawStat = r.rawStat;
  if (r.textStat !== undefined) s.textStat = r.textStat;
  if (r.err !== undefined) s.err = r.err;
  return s;
};

export class HeldReceipts {
  readonly #maxCount: number;
  readonly #maxBytes: number;
  /** By store id, oldest first (insertion order). */
  readonly #byId = new Map<number, HeldReceipt>();
  readonly #byKey = new Map<string, number>();
  #bytes = 0;

  constructor(opts: { maxCount: number; maxBytes: number }) {
    this.#maxCount = opts.maxCount;
    this.#maxBytes = opts.maxBytes;
  }

  get size(): number {
    return this.#byId.size;
  }

  get bytes(): number {
    return this.#bytes;
  }

  /** Adds one; returns those evicted to stay under the caps (oldest first). */
  add(h: Omit<HeldReceipt, 'bytes'>, body: string): HeldReceipt[] {
    const entry: HeldReceipt = { ...h, bytes: body.length + h.keys.reduce((s, k) => s + k.length, 0) + 64 };
    this.#byId.set(entry.id, entry);
    for (const k of entry.keys) this.#byKey.set(`${entry.carrierId}\u0000${k}`, entry.id);
    this.#bytes += entry.bytes;
    const evicted: HeldReceipt[] = [];
    for (const old of this.#byId.values()) {
      if (this.#byId.size <= this.#maxCount && this.#bytes <= this.#maxBytes) break;
      if (old.id === entry.id && this.#byId.size === 1) break;
      this.remove(old.id);
      evicted.push(old);
    }
    return evicted;
  }

  /** The held receipt a submit_sm_resp id (normalised) matches. */
  find(carrierId: string, key: string): HeldReceipt | undefined {
    const id = this.#byKey.get(`${carrierId}\u0000${key}`);
    return id === undefined ? undefined : this.#byId.get(id);
  }

  /** Store ids of every receipt held, oldest first. */
  ids(): number[] {
    return [...this.#byId.keys()];
  }

  get(id: number): HeldReceipt | undefined {
    return this.#byId.get(id);
  }

  remove(id: number): HeldReceipt | undefined {
    const h = this.#byId.get(id);
    if (h === undefined) return undefined;
    this.#byId.delete(id);
    for (const k of h.keys) {
      const key = `${h.carrierId}\u0000${k}`;
      if (this.#byKey.get(key) === id) this.#byKey.delete(key);
    }
    this.#bytes -= h.bytes;
    return h;
  }

  /** Removes and returns those held since before `before`. */
  expire(before: number): HeldReceipt[] {
    const out: HeldReceipt[] = [];
    for (const h of this.#byId.values()) {
      if (h.at >= before) break;
      out.push(h);
    }
    for (const h of out) this.remove(h.id);
    return out;
  }
}
