/**
 * Caller-ID registration (SPEC 10), wired in one call from the composition root: the
 * provider adapter named by caller_id.provider, the service, the poller, the metrics and the
 * HTTP routes. Off (undefined) when the config has no caller_id section.
 */
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { ClientConfig, Config } from '../config/schema.js';
import type { Store } from '../store/index.js';
import { registerCallerIdRoutes } from '../intake/routes-caller-id.js';
import { BuiltinProvider } from './builtin-provider.js';
import type { CallerIdConfig } from './config.js';
import { CallerIdEvents } from './events.js';
import { createCallerIdMetrics } from './metrics.js';
import { CallerIdPoller } from './poller.js';
import type { CallerIdProvider } from './provider.js';
import { CallerIdService } from './service.js';
import { callerIdClaimLeaseMs } from './claim-lease.js';

export interface CallerIdDeps {
  http: FastifyInstance;
  store: Store;
  config: () => Config;
  registry: Registry;
  logger: Logger;
  now: () => number;
  isDraining: () => boolean;
  /** Tests: how often the poller looks for due registrations (default 1 s). */
  pollTickMs?: number;
}

export interface CallerId {
  service: CallerIdService;
  poller: CallerIdPoller;
  start(): void;
  stop(): Promise<void>;
}

/** Provider adapters by caller_id.provider. */
export function createProvider(cfg: CallerIdConfig, now: () => number, onAttempt: (op: string, status: string) => void): CallerIdProvider {
  switch (cfg.provider) {
    case 'builtin':
      return new BuiltinProvider({
        baseUrl: cfg.base_url,
        appKey: cfg.app_key,
        appSecret: cfg.app_secret,
        timeoutMs: cfg.timeout_ms,
        maxAttempts: cfg.max_attempts,
        backoff: { initialMs: cfg.backoff.initial_ms, maxMs: cfg.backoff.max_ms },
        now,
        onAttempt,
      });
  }
}

export function attachCallerId(d: CallerIdDeps): CallerId | undefined {
  if (d.config().caller_id === undefined) return undefined;
  const logger = d.logger.child({ component: 'callerid' });
  // The last section seen: a reload without a caller_id section keeps the feature as it was.
  let section = d.config().caller_id!;
  const config = (): CallerIdConfig => (section = d.config().caller_id ?? section);
  const metrics = createCallerIdMetrics(d.registry, d.config().metrics.prefix, d.store.callerId);
  // Rebuilt when a reload changes the section (new secret, URL or limits); the old one is
  // closed gracefully (calls in flight finish; a retry of theirs is deferred to the poller).
  let built: { cfg: CallerIdConfig; key: string; provider: CallerIdProvider } | undefined;
  const provider = (): CallerIdProvider => {
    const cfg = config();
    if (built?.cfg === cfg) return built.provider;
    const key = JSON.stringify(cfg);
    if (built?.key !== key) {
      void built?.provider.close().catch(() => undefined);
      built = { cfg, key, provider: createProvider(cfg, d.now, metrics.providerResponse) };
    } else built.cfg = cfg;
    return built.provider;
  };
  const events = new CallerIdEvents(d.store.aux, d.config, d.now, metrics.event);
  const service = new CallerIdService({
    store: d.store.callerId,
    commit: (fn) => d.store.commit.run(fn),
    provider,
    config,
    events,
    metrics,
    logger,
    now: d.now,
  });
  const poller = new CallerIdPoller({
    store: d.store.callerId,
    service,
    now: d.now,
    logger,
    leaseMs: () => callerIdClaimLeaseMs(config()),
    ...(d.pollTickMs !== undefined ? { tickMs: d.pollTickMs } : {}),
  });
  registerCallerIdRoutes(d.http, { service, clients: () => d.config().clients as readonly ClientConfig[], isDraining: d.isDraining });
  return {
    service,
    poller,
    start: () => poller.start(),
    async stop() {
      await poller.stop();
      await built?.provider.close().catch(() => undefined);
    },
  };
}
