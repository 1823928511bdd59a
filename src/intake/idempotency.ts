/**
 * Idempotency-Key: a repeat with the same body returns the first answer; a different body
 * gets 409. Keys live in the store (so they survive restart) with an lru-cache in front;
 * concurrent repeats wait for the first one instead of racing it.
 */
import { createHash } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import { ApiError } from '../domain/errors.js';
import type { AuxStore } from '../store/types.js';
import type { IdempotencyRecord } from '../store/types.js';

export interface StoredAnswer {
  status: number;
  body: unknown;
}

export class IdempotencyKeys {
  readonly #aux: AuxStore;
  readonly #cache = new LRUCache<string, IdempotencyRecord>({ max: 50000 });
  readonly #inflight = new Map<string, Promise<unknown>>();

  constructor(aux: AuxStore) {
    this.#aux = aux;
  }

  static hash(raw: string): string {
    return createHash('sha256').update(raw).digest('hex');
  }

  /**
   * Run `work` once per (client, key). `work` receives a `record` function to call inside its
   * commit so the key is stored atomically with what it answered.
   */
  async run(
    client: string,
    key: string,
    rawBody: string,
    now: number,
    work: (record: (a: StoredAnswer) => void) => Promise<StoredAnswer>,
  ): Promise<StoredAnswer> {
    if (key.length === 0 || key.length > 200) throw new ApiError('invalid_field', 'Idempotency-Key must be 1..200 characters', { field: 'Idempotency-Key' });
    const ck = `${client}\u0000${key}`;
    const hash = IdempotencyKeys.hash(rawBody);
    for (;;) {
      const pending = this.#inflight.get(ck);
      if (pending === undefined) break;
      await pending.catch(() => undefined);
    }
    const prior = this.#cache.get(ck) ?? this.#aux.getIdempotency(client, key);
    if (prior !== undefined) {
      this.#cache.set(ck, prior);
      if (prior.bodyHash !== hash) throw new ApiError('idempotency_conflict', 'Idempotency-Key reused with a different body', { field: 'Idempotency-Key' });
      return { status: prior.status, body: JSON.parse(prior.response) };
    }
    const p = work((a) => {
      const rec = { bodyHash: hash, status: a.status, response: JSON.stringify(a.body), createdAt: now };
      this.#aux.putIdempotency(client, key, rec);
      this.#cache.set(ck, rec);
    });
    this.#inflight.set(ck, p);
    try {
      return await p;
    } finally {
      this.#inflight.delete(ck);
    }
  }
}
