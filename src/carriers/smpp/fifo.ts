/** A FIFO with O(1) shift (the pool's waiting submits). */
export class Fifo<T> {
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

/**
 * How many times each segment was in flight on a bind that dropped (segment id → count),
 * bounded: the oldest entries go first past `max` (a segment that old is long settled).
 */
export class DropCounts {
  readonly #counts = new Map<number, number>();
  constructor(readonly max = 10000) {}
  /** One more drop for this segment; returns its count. */
  add(segmentId: number): number {
    const n = (this.#counts.get(segmentId) ?? 0) + 1;
    this.#counts.delete(segmentId);
    this.#counts.set(segmentId, n);
    if (this.#counts.size > this.max) this.#counts.delete(this.#counts.keys().next().value!);
    return n;
  }
  /** The segment got an answer from the SMSC: forget it. */
  clear(segmentId: number): void {
    this.#counts.delete(segmentId);
  }
}
