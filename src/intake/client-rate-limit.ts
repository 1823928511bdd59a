/** Optional per-client request rate (clients[].rate_limit): a token bucket per client, 429 beyond. */
import { ApiError } from '../domain/errors.js';
import type { ClientConfig } from '../config/schema.js';

export class ClientRateLimits {
  readonly #buckets = new Map<string, { tokens: number; at: number }>();
  readonly #now: () => number;
  constructor(now: () => number) {
    this.#now = now;
  }
  check(client: ClientConfig, n: number): void {
    const rl = client.rate_limit;
    if (rl === undefined) return;
    const burst = rl.burst ?? Math.max(1, Math.ceil(rl.per_second));
    const now = this.#now();
    const b = this.#buckets.get(client.name) ?? { tokens: burst, at: now };
    b.tokens = Math.min(burst, b.tokens + ((now - b.at) / 1000) * rl.per_second);
    b.at = now;
    this.#buckets.set(client.name, b);
    if (b.tokens < n) {
      const wait = (n - b.tokens) / rl.per_second;
      const retry = Math.max(1, Math.ceil(wait));
      throw new ApiError(
        'rate_limited',
        `client ${client.name} is over its rate limit of ${rl.per_second} requests a second (burst ${burst}, clients[].rate_limit): retry in ${retry} s`,
        { retryAfter: retry },
      );
    }
    b.tokens -= n;
  }
}
