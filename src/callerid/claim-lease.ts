/** The lease of a node's claim on a caller-ID registration (cluster; docs/cluster.md). */
import type { CallerIdConfig } from './config.js';

/**
 * How long a node's claim on a registration holds (cluster): longer than an API operation's
 * provider calls with all their retries and than a poller batch, so a live node never loses a
 * claim it is using; a dead node's registrations are taken again after it.
 */
export function callerIdClaimLeaseMs(cfg: CallerIdConfig, pollerBatch = 100, pollerConcurrency = 4): number {
  const apiCall = cfg.max_attempts * (cfg.timeout_ms + cfg.backoff.max_ms);
  const pollerPass = Math.ceil(pollerBatch / pollerConcurrency) * cfg.timeout_ms;
  return Math.max(60_000, 2 * apiCall, 2 * pollerPass);
}
