/**
 * MMS over MM7, assembled (SPEC 9): one call from the composition root builds the intake
 * route, the worker that sends queued MMS, the receiver for reports and MO MMS, and the
 * fallback SMS sender; start() and drain() run and stop them.
 */
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { Config } from '../config/schema.js';
import type { Store } from '../store/index.js';
import type { MessageRecord } from '../store/types.js';
import type { Metrics } from '../observability/metrics.js';
import type { Outbox } from '../webhooks/outbox.js';
import type { SubmitService } from '../intake/submit-service.js';
import type { GatewayPolicy } from '../intake/intake-policy.js';
import { registerMmsRoutes } from '../intake/routes-mms.js';
import { createMm7Metrics, type Mm7Metrics } from './metrics.js';
import { Mm7Client } from './client.js';
import { clientOptionsOf } from './profile.js';
import { MmsResults } from './mms-results.js';
import { MmsWorker } from './mms-worker.js';
import { Mm7Receiver } from './receiver.js';
import { createInboundHandler } from './mms-inbound.js';
import { FallbackSender } from './fallback.js';
import { fallbackLink, renderMms } from './mms-view.js';

/** A held delivery report is matched for this long after it came (then its MMS ends by report_timeout_s). */
const HELD_REPORT_WINDOW_MS = 3_600_000;

export interface MmsRuntimeDeps {
  config: () => Config;
  store: Store;
  outbox: Outbox;
  logger: Logger;
  metrics: Metrics;
  now: () => number;
  service: SubmitService;
  policy: () => GatewayPolicy;
  http: FastifyInstance;
  isDraining: () => boolean;
}

export interface MmsRuntime {
  metrics: Mm7Metrics;
  worker: MmsWorker;
  fallback: FallbackSender;
  start(): Promise<void>;
  /** Stop the worker (requests in flight get up to `waitMs`), the receiver and the clients. */
  drain(waitMs: number): Promise<void>;
  /** GET /v1/messages/{id} for an MMS id (undefined: not an MMS, or not this client's). */
  describe(id: string, owner: string | undefined): Record<string, unknown> | undefined;
  /** MMS submitted longer than their MMSC's report_timeout_s without a report end `unknown`. */
  sweepReportTimeouts(): Promise<number>;
  /** Applies held delivery reports whose MMS has recorded its MessageID since (the 5 s timer runs it too). */
  reconcileHeldReports(): Promise<number>;
  /** The retention step (hourly, and at start). */
  purge(): void;
  /** Extra fields of an SMS sent as an MMS's fallback. */
  annotate(m: MessageRecord): Record<string, unknown> | undefined;
  receiverPort(): number | undefined;
}

export function buildMmsRuntime(d: MmsRuntimeDeps): MmsRuntime {
  const { store, logger } = d;
  const metrics = createMm7Metrics(d.metrics.registry, d.config().metrics.prefix);
  const recovered = store.mms.recoverInFlight();
  if (recovered > 0) logger.warn({ mms: recovered }, 'MMS left submitting at last stop are queued again (at-least-once)');

  const clients = new Map<string, Mm7Client>();
  const clientFor = (id: string): Mm7Client | undefined => {
    let c = clients.get(id);
    if (c === undefined) {
      const cfg = d.config().mm7?.mmscs.find((m) => m.id === id);
      if (cfg === undefined) return undefined;
      c = new Mm7Client(clientOptionsOf(cfg));
      clients.set(id, c);
    }
    return c;
  };
  const fallback = new FallbackSender({ store, service: d.service, clients: () => d.config().clients, metrics, logger });
  const results = new MmsResults({ store, outbox: d.outbox, metrics, logger, now: d.now, onFallback: () => fallback.wake() });
  const worker = new MmsWorker({
    config: d.config,
    store,
    client: clientFor,
    results,
    heldUntil: (category, now) => {
      const p = d.policy();
      return p.laneOpen(category, now) ? undefined : p.quietHours.nextOpening(category, now);
    },
    logger,
    now: d.now,
  });
  const receiver = new Mm7Receiver({
    settings: () => {
      const r = d.config().mm7?.receiver;
      return { host: r?.host ?? '127.0.0.1', port: r?.port ?? 8091, path: r?.path ?? '/mm7/receiver', username: r?.username ?? '', password: r?.password ?? '' };
    },
    handle: createInboundHandler({ config: d.config, store, outbox: d.outbox, results, metrics, logger, now: d.now }),
    metrics,
    logger,
  });

  registerMmsRoutes(d.http, {
    config: d.config,
    store,
    policy: d.policy,
    now: d.now,
    clients: () => d.config().clients,
    isDraining: d.isDraining,
    metrics,
    onAccepted: () => worker.wake(),
  });

  const sweepReportTimeouts = async (): Promise<number> => {
    let n = 0;
    for (const m of d.config().mm7?.mmscs ?? []) {
      if (!m.delivery_report) continue;
      for (const rec of store.mms.awaitingReport(m.id, d.now() - m.report_timeout_s * 1000, 500)) {
        if ((await results.ended(rec, 'unknown', { text: `no delivery report within ${m.report_timeout_s} s` })) !== undefined) n++;
      }
    }
    return n;
  };
  // Reports held for a MessageID that an MMS recorded after a crash, or on another node.
  const reconcileHeld = (): void => {
    results
      .reconcileHeldReports(d.now() - HELD_REPORT_WINDOW_MS)
      .catch((err: unknown) => logger.error({ err: { message: (err as Error).message } }, 'MMS held report reconcile failed'));
  };
  let receiverOn = false;
  let fallbackTimer: NodeJS.Timeout | undefined;
  let purgeTimer: NodeJS.Timeout | undefined;
  // Retention (SPEC 13) as for SMS: final MMS and their parts, and the MM7 requests received
  // (reports, read replies, MO MMS), go after store.retention_days.
  const purge = () => {
    try {
      const before = d.now() - d.config().store.retention_days * 86_400_000;
      for (let i = 0; i < 100 && store.mms.purgeFinal(before, 1000) === 1000; i++);
      for (let i = 0; i < 100 && store.mms.purgeInbound(before, 1000) === 1000; i++);
    } catch (err) {
      logger.error({ err: { message: (err as Error).message } }, 'MMS retention purge failed');
    }
  };
  return {
    metrics,
    worker,
    fallback,
    async start() {
      const mm7 = d.config().mm7;
      if (mm7 === undefined) return;
      if (mm7.receiver !== undefined && mm7.receiver.enabled) {
        const { port } = await receiver.start();
        receiverOn = true;
        logger.info({ port, path: mm7.receiver.path }, 'MM7 receiver listening');
      }
      if (mm7.mmscs.length > 0) worker.start();
      fallbackTimer = setInterval(() => {
        fallback.wake();
        reconcileHeld();
      }, 5000);
      fallbackTimer.unref();
      fallback.wake();
      reconcileHeld();
      purgeTimer = setInterval(() => {
        purge();
        sweepReportTimeouts().catch((err: unknown) => logger.error({ err: { message: (err as Error).message } }, 'MMS report timeout sweep failed'));
      }, 3_600_000);
      purgeTimer.unref();
      purge();
    },
    async drain(waitMs) {
      if (fallbackTimer !== undefined) clearInterval(fallbackTimer);
      if (purgeTimer !== undefined) clearInterval(purgeTimer);
      await worker.stop(waitMs);
      await fallback.idle();
      if (receiverOn) await receiver.stop();
      await Promise.all([...clients.values()].map((c) => c.destroy().catch(() => undefined)));
    },
    describe(id, owner) {
      const m = store.mms.get(id);
      if (m === undefined || (owner !== undefined && m.client !== owner)) return undefined;
      const fb = m.fallbackMessageId === null ? undefined : store.messages.getMessage(m.fallbackMessageId);
      return renderMms(m, store.mms.parts(id), fb);
    },
    annotate(m) {
      const mms = store.mms.findByFallbackMessage(m.id);
      return mms === undefined ? undefined : fallbackLink(mms);
    },
    receiverPort: () => receiver.port,
    sweepReportTimeouts,
    reconcileHeldReports: () => results.reconcileHeldReports(d.now() - HELD_REPORT_WINDOW_MS),
    purge,
  };
}
