/**
 * Composition root: the one place that wires parts together (ARCHITECTURE). Builds the
 * store, policy, connectors, dispatcher, results and HTTP API from a config, and owns
 * start, reload and drain.
 */
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { Config, CarrierConfig } from './config/schema.js';
import { LANES, type Category } from './domain/types.js';
import { openStore, type Store } from './store/index.js';
import { createMetrics, type Metrics } from './observability/metrics.js';
import type { Connector, InboundDeliver } from './carriers/connector.js';
import { settlesWithin } from './domain/settles-within.js';
import { buildHttpServer } from './intake/http-server.js';
import { registerSmsRoutes } from './intake/routes-sms.js';
import { registerMessageRoutes } from './intake/routes-messages.js';
import { IdempotencyKeys } from './intake/idempotency.js';
import { SubmitService, type Router } from './intake/submit-service.js';
import { DepthRecount, LaneDepths } from './intake/lane-gate.js';
import { ClientRateLimits } from './intake/client-rate-limit.js';
import { Dispatcher, type CarrierRuntime, type RateGate } from './scheduler/dispatcher.js';
import { pickCarrier, routeCandidates, type RoutingTable } from './scheduler/routing.js';
import { ResultsWriter, type StatusEvent } from './results/writer.js';
import { ReceiptHandler } from './results/receipt-handler.js';
import { Outbox } from './webhooks/outbox.js';
import { createPolicy, type GatewayPolicy } from './intake/intake-policy.js';
import { registerAdminRoutes } from './intake/routes-admin.js';
import { OtpService } from './intake/otp-service.js';
import { MoHandler } from './results/mo-handler.js';
import { ReceiptTimeouts } from './results/receipt-timeouts.js';
import { QueueReroute } from './scheduler/reroute.js';
import { RetentionPurge } from './store/retention.js';
import { registerOpenApi } from './observability/openapi.js';
import { refreshOpsGauges } from './observability/ops-gauges.js';

export interface AppOptions {
  config: Config;
  logger: Logger;
  now?: () => number;
  /** Build the connector of a carrier (default: an SMPP bind pool). */
  connectorFactory: (c: CarrierConfig, ctx: { logger: Logger; metrics: Metrics }) => Connector;
  rateFactory: (c: CarrierConfig, now: () => number) => RateGate;
  dispatchTickMs?: number;
  /** How long a receipt that matches nothing is held for its submit_sm_resp (default 60 s). */
  receiptHoldMs?: number;
}

export interface App {
  http: FastifyInstance;
  store: Store;
  metrics: Metrics;
  dispatcher: Dispatcher;
  carriers: Map<string, CarrierRuntime>;
  config(): Config;
  start(): Promise<{ port: number }>;
  reload(next: Config): { applied: string[] };
  drain(): Promise<void>;
  /** The step a drain is in (for a drain that overruns its deadline); undefined before one starts. */
  drainStep(): string | undefined;
  /** Run the periodic jobs now: receipt timeouts, failover of queued work, reassembly sweep, retention. */
  runMaintenance(): void;
}

export function buildApp(opts: AppOptions): App {
  let cfg = opts.config;
  const now = opts.now ?? Date.now;
  const logger = opts.logger;
  const metrics = createMetrics(cfg.metrics.prefix);
  const store = openStore({ path: cfg.store.path, commitIntervalMs: cfg.store.commit_interval_ms, synchronous: cfg.store.synchronous });
  const recovered = store.messages.recoverInFlight();
  if (recovered > 0) logger.warn({ segments: recovered }, 'segments left submitting at last stop are queued again (at-least-once)');
  store.commit.onCommit = (n) => metrics.commitBatch.observe(n);
  let draining = false;
  let drainPromise: Promise<void> | undefined;
  let drainStep: string | undefined;

  const carriers = new Map<string, CarrierRuntime>();
  const carrierCfg = (id: string) => carriers.get(id)?.config;
  for (const c of cfg.carriers) {
    const connector = opts.connectorFactory(c, { logger, metrics });
    carriers.set(c.id, { config: c, connector, rate: opts.rateFactory(c, now), paused: false, pending: 0, downSince: undefined });
  }

  // Rebuilt only when the config object changes (SIGHUP), not per message.
  let table: { cfg: Config; table: RoutingTable } | undefined;
  const routingTable = (): RoutingTable => {
    if (table?.cfg !== cfg) {
      table = {
        cfg,
        table: {
          carriers: cfg.carriers.map((c) => ({ id: c.id, prefixes: c.prefixes, categories: c.categories })),
          portedNumbers: cfg.routing.ported_numbers,
          defaultCarrier: cfg.routing.default_carrier,
        },
      };
    }
    return table.table;
  };
  const FAILOVER_AFTER_MS = 3000;
  const unavailable = (id: string): boolean => {
    const rt = carriers.get(id);
    if (rt === undefined) return true;
    if (rt.paused) return true;
    if (rt.connector.isUp()) return false;
    return rt.downSince !== undefined && now() - rt.downSince > FAILOVER_AFTER_MS;
  };
  const router: Router = {
    route(to, category) {
      const id = pickCarrier(routingTable(), to, category, unavailable);
      const c = id === undefined ? undefined : carrierCfg(id);
      if (c === undefined) return undefined;
      return {
        id: c.id,
        segmentation: c.segmentation,
        encodings: c.encodings,
        forceUcs2: !c.encodings.includes('gsm7'),
        packGsm7: c.pack_gsm7,
      };
    },
  };

  const lanes = new LaneDepths(() => ({ maxDepth: cfg.queue.max_depth, otpMaxDepth: cfg.queue.otp_max_depth }));
  const setDepths = (d: Record<Category, number>) => {
    lanes.set(d);
    for (const [lane, n] of Object.entries(d)) metrics.queueDepth.set({ lane }, n);
  };
  const recount = new DepthRecount({
    count: () => store.messages.openDepthByLane(),
    countInBackground: () => store.depthInBackground(),
    apply: setDepths,
    logger,
    stopping: () => draining,
  });
  const refreshDepths = () => recount.inPlace();
  refreshDepths();

  const outbox = new Outbox({
    aux: store.aux,
    config: () => cfg,
    logger,
    metrics,
    now,
  });

  let policy: GatewayPolicy = createPolicy(cfg, store, logger, metrics, Math.random, now);

  const results = new ResultsWriter({
    messages: store.messages,
    metrics,
    logger,
    multipartMode: (id) => {
      const c = carrierCfg(id);
      // Receipts only for the last segment: one delivered receipt settles the message.
      return c === undefined ? 'all' : c.registered_delivery === 'last' ? 'any' : c.multipart_receipts;
    },
    emitStatus: (m, e: StatusEvent) => outbox.statusChanged(m, e),
    onFinal: (m) => policy.onFinal(m),
  });

  const reroute = new QueueReroute({
    messages: store.messages,
    commit: store.commit,
    nextCarrier: (to, category, from) => routeCandidates(routingTable(), to, category).find((id) => id !== from && !unavailable(id)),
    unavailable,
    moved: () => dispatcher.wake(LANES),
    logger,
    now,
    stopping: () => draining,
  });

  const receiptTimeouts = new ReceiptTimeouts({
    messages: store.messages,
    commit: store.commit,
    results,
    carriers: () => [...carriers.values()].map((rt) => rt.config),
    logger,
    now,
    stopping: () => draining,
  });

  const retention = new RetentionPurge({ store, retentionDays: () => cfg.store.retention_days, logger, now, stopping: () => draining });
  const purge = () => retention.run();

  const receipts = new ReceiptHandler({
    messages: store.messages,
    results,
    commit: (fn) => store.commit.run(fn),
    carrier: carrierCfg,
    metrics,
    logger,
    now,
    ...(opts.receiptHoldMs !== undefined ? { holdMs: opts.receiptHoldMs } : {}),
  });
  const mo = new MoHandler({ store, config: () => cfg, metrics, logger, now, outbox, carrier: carrierCfg });

  const dispatcher = new Dispatcher({
    config: () => cfg,
    store,
    carriers,
    results,
    metrics,
    logger,
    now,
    laneOpen: (lane, t) => policy.laneOpen(lane, t),
    openBody: (b) => policy.openBody(b),
    failoverCarrier: (to, category, exclude) =>
      routeCandidates(routingTable(), to, category).find((id) => !exclude.has(id) && !unavailable(id)),
    onAccepted: (carrierId, carrierMsgId) => receipts.accepted(carrierId, carrierMsgId),
    onSubmitted: (seg, at) => metrics.acceptToSubmit.labels(seg.lane).observe(Math.max(0, at - seg.createdAt) / 1000),
  });

  // A receipt often arrives in the same read as its submit_sm_resp; the resp's outcome is
  // handled in promise callbacks, so receipts are handled after those have run (and queued
  // the `submitted` write ahead of the receipt's lookup): all of a turn's, in one immediate.
  let delivers: InboundDeliver[] = [];
  const handleDelivers = () => {
    const batch = delivers;
    delivers = [];
    for (const ev of batch) {
      try {
        if (ev.isReceipt) receipts.handle(ev);
        else mo.handle(ev);
      } catch (err) {
        logger.error({ err: { message: (err as Error).message }, carrier: ev.carrierId }, 'deliver_sm handling failed');
        ev.ack(0x08);
      }
    }
  };
  for (const rt of carriers.values()) {
    rt.connector.on('deliver', (ev) => {
      if (delivers.push(ev) === 1) setImmediate(handleDelivers);
    });
    rt.connector.on('bind', (b) => {
      metrics.bindUp.set({ carrier: b.carrierId, bind: String(b.bindIndex) }, b.state === 'bound' ? 1 : 0);
      if (rt.connector.isUp()) rt.downSince = undefined;
      else rt.downSince ??= now();
      if (b.state === 'bound') dispatcher.wake(LANES);
    });
  }

  const service = new SubmitService({
    config: () => cfg,
    store,
    policy: () => policy,
    router,
    lanes,
    now,
    // A committed OTP is dispatched in the same turn; bulk waits for the coalesced pass.
    onAccepted: (lanes) => (lanes.has('otp') ? dispatcher.passNow(lanes) : dispatcher.wake(lanes)),
  });

  const http = buildHttpServer({ logger, maxBodyBytes: cfg.http.max_body_bytes, clients: () => cfg.clients, isDraining: () => draining });
  registerOpenApi(http); // before the routes: it documents each as it is declared
  const rateLimits = new ClientRateLimits(now);
  registerSmsRoutes(http, {
    service,
    idempotency: new IdempotencyKeys(store.aux),
    clients: () => cfg.clients,
    isDraining: () => draining,
    metrics,
    rateLimits,
    now,
  });
  const ready = () => {
    const reasons: string[] = [];
    if (!store.isOpen()) reasons.push('store closed');
    if (draining) reasons.push('draining');
    if (carriers.size > 0 && ![...carriers.values()].some((rt) => rt.connector.hasBound())) reasons.push('no carrier bound yet');
    for (const rt of carriers.values()) if (rt.config.required && !rt.connector.isUp()) reasons.push(`required carrier ${rt.config.id} not bound`);
    return { ok: reasons.length === 0, reasons };
  };
  registerMessageRoutes(http, {
    messages: store.messages,
    clients: () => cfg.clients,
    now,
    commit: (fn) => store.commit.run(fn),
    metrics,
    ready,
    onCanceled: (ids) => {
      refreshDepths();
      // Cancels do not pass through the results writer: count them in the template metric here.
      for (const id of ids) policy.onFinal(id);
    },
  });
  registerAdminRoutes(http, {
    clients: () => cfg.clients,
    config: () => cfg,
    carriers,
    lanes,
    store,
    now,
    wake: () => dispatcher.wake(LANES),
    otp: new OtpService({ config: () => cfg, store, service, templates: () => policy.templates, metrics, now, onCanceled: refreshDepths }),
    isDraining: () => draining,
  });

  // Gauges read live state: refresh them on every scrape, not only on the periodic job.
  const refreshGauges = () => {
    for (const rt of carriers.values()) {
      metrics.currentTps.set({ carrier: rt.config.id }, rt.rate.rate);
      // Through the hot child: the bind pool reports through it too, and the last value set wins at collect.
      metrics.hot.windowInFlight(rt.config.id).set(rt.connector.binds().reduce((s, b) => s + b.inFlight, 0));
    }
    for (const [lane, n] of Object.entries(lanes.get())) metrics.queueDepth.set({ lane }, n);
    refreshOpsGauges(metrics, store, cfg, now());
  };
  http.addHook('onRequest', async (req) => {
    if (req.url === '/metrics') refreshGauges();
  });

  const timers: NodeJS.Timeout[] = [];
  const every = (ms: number, fn: () => void) => {
    const t = setInterval(() => {
      try {
        fn();
      } catch (err) {
        logger.error({ err }, 'periodic job failed');
      }
    }, ms);
    t.unref();
    timers.push(t);
  };

  return {
    http,
    store,
    metrics,
    dispatcher,
    carriers,
    config: () => cfg,
    async start() {
      for (const rt of carriers.values()) {
        rt.downSince = now();
        rt.connector.start();
      }
      dispatcher.start(opts.dispatchTickMs ?? 25);
      outbox.start();
      every(2000, () => {
        recount.inBackground();
        refreshGauges();
        for (const rt of carriers.values()) if (unavailable(rt.config.id)) reroute.run(rt.config.id);
      });
      every(30000, () => {
        receiptTimeouts.sweep();
        store.aux.expireOtps(now());
      });
      every(3600000, () => purge());
      purge();
      const addr = await http.listen({ host: cfg.http.host, port: cfg.http.port });
      const port = Number(new URL(addr).port);
      logger.info({ port, carriers: carriers.size }, 'xinge started');
      return { port };
    },
    reload(next: Config) {
      const applied: string[] = [];
      // Build everything new first: a config that fails here changes nothing.
      const nextPolicy = createPolicy(next, store, logger, metrics, Math.random, now);
      // Binds stay up: carrier connection settings need a restart; the rest swaps in place.
      const bindKeys = (c: Config) => JSON.stringify(c.carriers.map((x) => [x.id, x.host, x.port, x.system_id, x.password, x.binds, x.bind, x.tls]));
      if (bindKeys(next) !== bindKeys(cfg)) logger.warn('carrier connection settings changed: they apply at the next restart');
      const carriersById = new Map(next.carriers.map((c) => [c.id, c]));
      for (const rt of carriers.values()) {
        const nc = carriersById.get(rt.config.id);
        if (nc === undefined) continue;
        if (nc.tps !== rt.config.tps || nc.burst !== rt.config.burst) {
          rt.rate = opts.rateFactory(nc, now);
          applied.push(`carriers.${nc.id}.tps`);
        }
        rt.config = nc;
      }
      cfg = next;
      policy = nextPolicy;
      applied.push('clients', 'templates', 'policy', 'routing', 'queue', 'webhooks');
      logger.info({ applied }, 'config reloaded');
      return { applied };
    },
    runMaintenance() {
      refreshDepths();
      for (const rt of carriers.values()) if (unavailable(rt.config.id)) reroute.run(rt.config.id);
      receiptTimeouts.sweep();
      store.aux.expireOtps(now());
      mo.sweep();
      purge();
    },
    drainStep: () => drainStep,
    drain() {
      // Idempotent: a second SIGTERM (or a test teardown) waits for the same drain.
      drainPromise ??= (async () => {
        draining = true;
        drainStep = 'in-flight submits';
        mo.stop();
        // Wall-clock grace: the injected clock may stand still in tests.
        const graceMs = cfg.shutdown_grace_s * 1000;
        dispatcher.stop();
        const deadline = Date.now() + graceMs;
        while (dispatcher.inFlight() > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
        drainStep = 'carrier unbinds';
        await Promise.all([...carriers.values()].map((rt) => rt.connector.stop(Math.max(0, deadline - Date.now())).catch(() => undefined)));
        drainStep = 'webhook outbox';
        // What is left of the grace, but at least a second for a delivery just sent.
        await outbox.stop(Math.max(1000, deadline - Date.now()));
        for (const t of timers) clearInterval(t);
        drainStep = 'HTTP close';
        await closeHttp(http);
        drainStep = 'store close';
        store.close();
        drainStep = 'done';
      })();
      return drainPromise;
    },
  };
}

/**
 * Node 20's server.close() reaps only the keep-alive sockets idle at that instant: a socket
 * whose request was in flight then, or one that connected and never sent a request, stays
 * open until fastify's 72 s keepAliveTimeout and the close waits for it (seen as a drain
 * hung at 'HTTP close'). Intake has answered 503 since the drain began, so what is left
 * after a short wait is idle sockets: they are cut.
 */
const HTTP_CLOSE_WAIT_MS = 1000;
async function closeHttp(http: FastifyInstance): Promise<void> {
  const closed = http.close();
  if (!(await settlesWithin(closed, HTTP_CLOSE_WAIT_MS))) http.server.closeAllConnections();
  await closed;
}
