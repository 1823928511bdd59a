/**
 * Composition root: the one place that wires parts together (ARCHITECTURE). Builds the
 * store, policy, connectors, dispatcher, results and HTTP API from a config; what each part
 * does lives in its module (routing cache, inbound batching, periodic jobs, reload, drain).
 */
import type { Worker } from 'node:worker_threads';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { Config, CarrierConfig } from './config/schema.js';
import { LANES, type Category } from './domain/types.js';
import { clusterNodeId } from './cluster/config.js';
import { openStore, type Store } from './store/index.js';
import { createMetrics, type Metrics } from './observability/metrics.js';
import type { Connector } from './carriers/connector.js';
import { buildHttpServer } from './intake/http-server.js';
import { registerSmsRoutes } from './intake/routes-sms.js';
import { createIntakeThreads } from './intake/threads/intake-threads.js';
import { registerMessageRoutes } from './intake/routes-messages.js';
import { IdempotencyKeys } from './intake/idempotency.js';
import { SubmitService } from './intake/submit-service.js';
import { DepthRecount, LaneDepths } from './intake/lane-gate.js';
import { ClientRateLimits } from './intake/client-rate-limit.js';
import { Dispatcher, type CarrierRuntime, type RateGate } from './scheduler/dispatcher.js';
import { RoutingCache } from './scheduler/routing-cache.js';
import { ResultsWriter, type StatusEvent } from './results/writer.js';
import { ReceiptHandler } from './results/receipt-handler.js';
import { InboundBatch } from './results/inbound-batch.js';
import { Outbox } from './webhooks/outbox.js';
import { createPolicy, type GatewayPolicy } from './intake/intake-policy.js';
import { registerAdminRoutes } from './intake/routes-admin.js';
import { registerReplyRoutes } from './intake/routes-replies.js';
import { OtpService } from './intake/otp-service.js';
import { MoHandler } from './results/mo-handler.js';
import { ReceiptTimeouts } from './results/receipt-timeouts.js';
import { QueueReroute } from './scheduler/reroute.js';
import { RetentionPurge } from './store/retention.js';
import { LogLimiter } from './observability/log-limiter.js';
import { attachCallerId, type CallerId } from './callerid/index.js';
import { PeriodicJobs } from './runtime/periodic-jobs.js';
import { Drain, closeHttp, type DrainStep } from './runtime/drain.js';
import { reloadCarriers } from './runtime/carrier-reload-apply.js';
import { readiness, refreshGauges } from './runtime/live-state.js';
import { CarrierAvailability } from './scheduler/carrier-availability.js';
import { monotonicNow, type MonotonicClock } from './domain/clock.js';
import type { ClaimedSegment } from './store/types.js';
import { createSmppServer } from './smpp-server/index.js';
import { buildMmsRuntime, type MmsRuntime } from './mm7/runtime.js';
import { registerOpenApi } from './observability/openapi.js';
import { refreshOpsGauges } from './observability/ops-gauges.js';
import { startCluster, type ClusterRuntime } from './cluster/cluster-runtime.js';
import { startClusterStoreWork, type ClusterStoreWork } from './cluster/cluster-store-work.js';

/** PostgreSQL: a rate-bound carrier's bulk is claimed once per this many ms of its rate (Dispatcher.bulkClaimMs). */
const PG_BULK_CLAIM_MS = 20;

export interface AppOptions {
  config: Config;
  logger: Logger;
  now?: () => number;
  /** Measures intervals (rate buckets, failover delay); default the process's monotonic clock. */
  monotonic?: MonotonicClock;
  /** Build the connector of a carrier (default: an SMPP bind pool). */
  connectorFactory: (c: CarrierConfig, ctx: { logger: Logger; metrics: Metrics }) => Connector;
  rateFactory: (c: CarrierConfig, now: () => number) => RateGate;
  dispatchTickMs?: number;
  /** How long a receipt that matches nothing is held for its submit_sm_resp (default inbound.receipt_hold_s). */
  receiptHoldMs?: number;
  /** A part of the daemon died (an intake thread): stop it. Default: the error is thrown, uncaught. */
  onFatal?: (err: Error) => void;
}

export interface App {
  http: FastifyInstance;
  store: Store;
  metrics: Metrics;
  dispatcher: Dispatcher;
  carriers: Map<string, CarrierRuntime>;
  /** MMS over MM7 (src/mm7/runtime.ts). */
  mms: MmsRuntime;
  config(): Config;
  start(): Promise<{ port: number }>;
  /** SIGHUP: what applied at once, and what waits for a restart (also in GET /v1/admin/carriers). */
  reload(next: Config): { applied: string[]; pendingRestart: string[] };
  drain(): Promise<void>;
  /** The step a drain is in (for a drain that overruns its deadline); undefined before one starts. */
  drainStep(): string | undefined;
  /** Run the periodic jobs now: receipt timeouts, failover of queued work, reassembly sweep, retention. */
  runMaintenance(): void;
  /** Caller-ID registration (undefined without a caller_id section). */
  callerId: CallerId | undefined;
  /** The HTTP intake threads (http.threads), empty when HTTP runs on the main thread. */
  intakeThreads(): readonly Worker[];
}

export function buildApp(opts: AppOptions): App {
  let cfg = opts.config;
  const config = () => cfg;
  const now = opts.now ?? Date.now;
  const monotonic = opts.monotonic ?? monotonicNow;
  const logger = opts.logger;
  const metrics = createMetrics(cfg.metrics.prefix);
  const nodeId = clusterNodeId(cfg.cluster);
  const store = openStore({
    driver: cfg.store.driver,
    path: cfg.store.path,
    url: cfg.store.url,
    nodeId,
    statementTimeoutMs: cfg.cluster.statement_timeout_ms,
    idleInTransactionTimeoutMs: cfg.cluster.idle_in_transaction_timeout_ms,
    commitIntervalMs: cfg.store.commit_interval_ms,
    synchronous: cfg.store.synchronous,
  });
  const recovered = store.messages.recoverInFlight();
  if (recovered > 0) logger.warn({ segments: recovered }, 'segments left submitting at last stop are queued again (at-least-once)');
  store.commit.onCommit = (n) => metrics.commitBatch.observe(n);
  const drain = new Drain();
  const draining = () => drain.started;
  /** Carriers added or removed by a reload: they change at the next restart. */
  let pendingCarriers: string[] = [];

  const carriers = new Map<string, CarrierRuntime>();
  const carrierCfg = (id: string) => carriers.get(id)?.config;
  for (const c of cfg.carriers) {
    const connector = opts.connectorFactory(c, { logger, metrics });
    carriers.set(c.id, { config: c, connector, rate: opts.rateFactory(c, monotonic), paused: false, pending: 0, downSince: undefined });
  }
  // When a carrier counts as down: the bind-lost event starts its own timer (issue 13.7).
  const availability = new CarrierAvailability({
    carriers: () => carriers.values(),
    now: monotonic,
    failoverAfterMs: () => cfg.routing.failover_after_ms,
    onUnavailable: (id) => reroute.run(id),
  });
  const unavailable = (id: string): boolean => availability.unavailable(id);
  const routing = new RoutingCache(config);

  const lanes = new LaneDepths(() => ({ maxDepth: cfg.queue.max_depth, otpMaxDepth: cfg.queue.otp_max_depth }));
  const recount = new DepthRecount({
    count: () => store.messages.openDepthByLane(),
    countInBackground: () => store.depthInBackground(),
    apply: (d: Record<Category, number>) => {
      lanes.set(d);
      for (const [lane, n] of Object.entries(d)) metrics.queueDepth.set({ lane }, n);
    },
    logger,
    stopping: draining,
  });
  const refreshDepths = () => recount.inPlace();
  refreshDepths();

  const outbox = new Outbox({ aux: store.aux, config, logger, metrics, now });
  let policy: GatewayPolicy = createPolicy(cfg, store, logger, metrics, Math.random, now);
  // SPEC 8: downstream ESMEs submit through `service`; outbind deliveries join the inbound batch.
  const smppServer = createSmppServer({ config, store, pipeline: () => service, metrics, logger, now, carrierDeliver: (ev) => inbound.push(ev) });
  const results = new ResultsWriter({
    messages: store.messages,
    metrics,
    logger,
    multipartMode: (id) => {
      const c = carrierCfg(id);
      // Receipts only for the last segment: one delivered receipt settles the message.
      return c === undefined ? 'all' : c.registered_delivery === 'last' ? 'any' : c.multipart_receipts;
    },
    emitStatus: (m, e: StatusEvent) => {
      outbox.statusChanged(m, e);
      smppServer?.statusChanged(m, e);
    },
    onFinal: (m) => policy.onFinal(m),
  });

  const dispatcher = new Dispatcher({
    config,
    store,
    carriers,
    results,
    metrics,
    logger,
    now,
    laneOpen: (lane, t) => policy.laneOpen(lane, t),
    openBody: (b) => policy.openBody(b),
    failoverCandidates: (to, category, exclude) => routing.available(to, category, unavailable, exclude),
    onAccepted: (carrierId, carrierMsgId) => receipts.accepted(carrierId, carrierMsgId),
    onSubmitted: (seg, at) => metrics.acceptToSubmit.labels(seg.lane).observe(Math.max(0, at - seg.createdAt) / 1000),
    ...(smppServer ? { partCuts: (seg: ClaimedSegment) => smppServer.partCuts(seg) } : {}),
    // PostgreSQL: a claim is a round trip, so a rate-bound carrier's bulk is claimed in 20 ms steps.
    ...(cfg.store.driver === 'postgres' ? { bulkClaimMs: PG_BULK_CLAIM_MS, probeDueOnTick: true } : {}),
  });
  // PostgreSQL: a verification code's claim goes with its own COMMIT (one round trip fewer).
  store.commit.beforeUrgentCommit = () => dispatcher.stageOtpClaim();
  const reroute = new QueueReroute({
    messages: store.messages,
    commit: store.commit,
    candidates: (to, category, from) => routing.available(to, category, unavailable, from),
    move: (messageId, next, o) => dispatcher.failover.move(messageId, next, o),
    unavailable,
    moved: () => dispatcher.wake(LANES),
    logger,
    now,
    stopping: draining,
  });
  const receiptTimeouts = new ReceiptTimeouts({
    messages: store.messages,
    commit: store.commit,
    results,
    carriers: () => [...carriers.values()].map((rt) => rt.config),
    logger,
    now,
    stopping: draining,
  });
  const retention = new RetentionPurge({ store, retentionDays: () => cfg.store.retention_days, logger, now, stopping: draining });

  // Repeated warnings from inbound traffic, one line per carrier and kind per interval.
  const inboundLog = new LogLimiter(logger, { intervalMs: cfg.inbound.warn_interval_s * 1000, now });
  const receipts = new ReceiptHandler({
    messages: store.messages,
    aux: store.aux,
    results,
    commit: (fn) => store.commit.run(fn),
    carrier: carrierCfg,
    metrics,
    logger,
    now,
    holdMs: opts.receiptHoldMs ?? cfg.inbound.receipt_hold_s * 1000,
    maxHeld: cfg.inbound.held_receipts_max,
    maxHeldBytes: cfg.inbound.held_receipts_max_bytes,
    log: inboundLog,
  });
  const mo = new MoHandler({
    store,
    config,
    metrics,
    logger,
    now,
    outbox,
    carrier: carrierCfg,
    reassemblyTimeoutMs: cfg.inbound.reply_parts_timeout_s * 1000,
    maxOpen: cfg.inbound.partial_replies_max,
    maxOpenBytes: cfg.inbound.partial_replies_max_bytes,
    log: inboundLog,
    ...(smppServer ? { smppClients: smppServer } : {}),
  });
  const inbound = new InboundBatch({ receipt: (ev) => receipts.handle(ev), receipts: (evs) => receipts.handleMany(evs), reply: (ev) => mo.handle(ev) }, logger);
  for (const rt of carriers.values()) {
    inbound.attach(rt.connector);
    rt.connector.on('bind', (b) => {
      metrics.bindUp.set({ carrier: b.carrierId, bind: String(b.bindIndex) }, b.state === 'bound' ? 1 : 0);
      if (b.state === 'bound') dispatcher.wake(LANES);
    });
  }

  const service = new SubmitService({
    config,
    store,
    policy: () => policy,
    router: routing.router(carrierCfg, unavailable),
    lanes,
    now,
    // A committed OTP is dispatched in the same turn; bulk waits for the coalesced pass.
    onAccepted: (lanes) => (lanes.has('otp') ? dispatcher.passNow(lanes) : dispatcher.wake(lanes)),
  });

  const http = buildHttpServer({
    logger,
    maxBodyBytes: cfg.http.max_body_bytes,
    clients: () => cfg.clients,
    isDraining: draining,
    limits: {
      requestTimeoutMs: cfg.http.request_timeout_ms,
      headersTimeoutMs: cfg.http.headers_timeout_ms,
      keepAliveTimeoutMs: cfg.http.keep_alive_timeout_ms,
      maxConnections: cfg.http.max_connections,
    },
  });
  registerOpenApi(http); // before the routes: it documents each as it is declared
  const smsIntake = registerSmsRoutes(http, {
    service,
    idempotency: new IdempotencyKeys(store.aux),
    clients: () => cfg.clients,
    isDraining: draining,
    metrics,
    rateLimits: new ClientRateLimits(now),
    now,
    timezone: () => cfg.policy.timezone,
  });
  // http.threads: the HTTP sockets on their own threads; this instance answers what they hand over.
  const intakeThreads = createIntakeThreads(cfg, { logger, clients: () => cfg.clients, sms: smsIntake, http, onFatal: opts.onFatal });
  const mms = buildMmsRuntime({ config, store, outbox, logger, metrics, now, service, policy: () => policy, http, isDraining: draining });
  registerMessageRoutes(http, {
    describeOther: (id, owner) => mms.describe(id, owner),
    annotate: (m) => mms.annotate(m),
    cancelOther: { cancel: (ids, owner, t) => store.mms.cancel(ids, owner, t), idsByReference: (c, r) => store.mms.idsByReference(c, r) },
    messages: store.messages,
    clients: () => cfg.clients,
    now,
    commit: (fn) => store.commit.run(fn),
    metrics,
    ready: () => readiness(store.isOpen(), draining(), carriers),
    onCanceled: (ids) => {
      refreshDepths();
      // Cancels do not pass through the results writer: count them in the template metric here.
      for (const id of ids) policy.onFinal(id);
    },
  });
  registerAdminRoutes(http, {
    clients: () => cfg.clients,
    config,
    carriers,
    lanes,
    store,
    now,
    wake: () => dispatcher.wake(LANES),
    otp: new OtpService({ config, store, service, templates: () => policy.templates, metrics, now, onCanceled: refreshDepths }),
    isDraining: draining,
    pendingRestart: () => pendingCarriers,
  });
  const callerId = attachCallerId({ http, store, config, registry: metrics.registry, logger, now, isDraining: draining });

  registerReplyRoutes(http, { aux: store.aux, config: () => cfg, clients: () => cfg.clients });

  // Gauges read live state: refresh them on every scrape, not only on the periodic job.
  const gauges = () => {
    refreshGauges(metrics, carriers, lanes);
    refreshOpsGauges(metrics, store, cfg, now());
  };
  http.addHook('onRequest', async (req) => {
    if (req.url === '/metrics') gauges();
  });

  // A safety net and paused carriers: a lost bind moves its queue on its own timer.
  const rerouteUnavailable = () => availability.sweep();
  // A segment whose outcome's write failed stays `submitting`: requeued once well past any resp.
  const staleSubmittingMs = () => Math.max(60000, 3 * Math.max(0, ...cfg.carriers.map((c) => c.response_timeout_s * 1000)));
  const jobs = new PeriodicJobs(
    [
      { name: 'depths', everyMs: 2000, run: () => recount.inBackground() },
      { name: 'gauges', everyMs: 2000, run: gauges },
      { name: 'held receipts', everyMs: 2000, run: () => receipts.sweep() },
      { name: 'inbound log', everyMs: 2000, run: () => inboundLog.flush() },
      { name: 'failover of queued work', everyMs: 2000, run: rerouteUnavailable },
      { name: 'stale submitting', everyMs: 30000, run: () => dispatcher.requeueStale(staleSubmittingMs()) },
      { name: 'receipt timeouts', everyMs: 30000, run: () => receiptTimeouts.sweep() },
      { name: 'OTP expiry', everyMs: 30000, run: () => store.aux.expireOtps(now()) },
      { name: 'retention', everyMs: 3600000, run: () => retention.run(), atStart: true },
    ],
    logger,
  );
  // runMaintenance: the same jobs, at once, with the reassembly sweep (on its own timer in MoHandler).
  const maintenance = [
    refreshDepths,
    rerouteUnavailable,
    () => receiptTimeouts.sweep(),
    () => store.aux.expireOtps(now()),
    () => mo.sweep(),
    () => receipts.sweep(),
    () => dispatcher.requeueStale(staleSubmittingMs()),
    () => retention.run(),
  ];

  // store.driver postgres: bind slots and TPS shared through leases (docs/cluster.md).
  let cluster: ClusterRuntime | undefined;
  let clusterWork: ClusterStoreWork | undefined;
  // Wall-clock grace: the injected clock may stand still in tests.
  let deadline = 0;
  const drainSteps = (): DrainStep[] => [
    {
      name: 'in-flight submits',
      run: async () => {
        intakeThreads?.draining();
        mo.stop();
        dispatcher.stop();
        deadline = Date.now() + cfg.shutdown_grace_s * 1000;
        await smppServer?.stop(Math.min(cfg.shutdown_grace_s * 1000, 1000));
        while (dispatcher.inFlight() > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      },
    },
    ...(clusterWork !== undefined ? [{ name: 'cluster store work', run: () => clusterWork!.stop() }] : []),
    ...(cluster !== undefined ? [{ name: 'cluster leases', run: () => cluster!.stop() }] : []),
    {
      name: 'carrier unbinds',
      run: () => Promise.all([...carriers.values()].map((rt) => rt.connector.stop(Math.max(0, deadline - Date.now())).catch(() => undefined))),
    },
    { name: 'MMS', run: () => mms.drain(Math.max(0, deadline - Date.now())) },
    ...(callerId !== undefined ? [{ name: 'caller-ID poller', run: () => callerId.stop() }] : []),
    // What is left of the grace, but at least a second for a delivery just sent.
    { name: 'webhook outbox', run: async () => {
      await outbox.stop(Math.max(1000, deadline - Date.now()));
      jobs.stop();
      availability.stop();
    } },
    // Held receipts and reply parts are in the store already; their last writes commit here.
    { name: 'inbound flush', run: async () => {
      inboundLog.flush(true);
      await store.commit.run(() => undefined).catch(() => undefined);
    } },
    { name: 'HTTP close', run: async () => {
      await intakeThreads?.close();
      await closeHttp(http);
    } },
    { name: 'store close', run: () => store.close() },
  ];

  return {
    http,
    store,
    metrics,
    dispatcher,
    carriers,
    mms,
    callerId,
    config,
    async start() {
      // Before the connectors start: their pools must be in leased mode before any bind.
      if (cfg.store.driver === 'postgres') {
        cluster = await startCluster({ config: cfg, carriers: () => carriers.values(), logger, registry: metrics.registry });
        clusterWork = startClusterStoreWork({
          url: cfg.store.url!,
          registry: cluster.registry,
          messages: store.messages,
          ...(store.mms.reapClaims === undefined ? {} : { reapMms: (live: readonly string[]) => store.mms.reapClaims!(live) }),
          ...(store.aux.adoptHeldReceipts === undefined ? {} : {
            adoptHeldReceipts: (live: readonly string[]) => {
              const rows = store.aux.adoptHeldReceipts!(live);
              receipts.adopt(rows);
              return rows.length;
            },
          }),
          passNow: (lanes) => dispatcher.passNow(lanes),
          reconcileReceipts: () => receipts.reconcile(),
          logger,
          reapEveryMs: Math.max(500, Math.floor(cfg.cluster.node_ttl_ms / 3)),
        });
      }
      availability.start();
      for (const rt of carriers.values()) rt.connector.start();
      // PostgreSQL: an idle tick is a claim statement per lane and carrier on the shared queue, from
      // every node; a new OTP wakes every node by NOTIFY and local intake wakes its own dispatcher.
      dispatcher.start(opts.dispatchTickMs ?? (cfg.store.driver === 'postgres' ? 100 : 25));
      outbox.start();
      callerId?.start();
      jobs.start();
      await smppServer?.start();
      await mms.start();
      let port: number;
      if (intakeThreads === undefined) {
        const addr = await http.listen({ host: cfg.http.host, port: cfg.http.port });
        port = Number(new URL(addr).port);
      } else {
        // The main thread's instance answers what the threads hand it; it does not listen.
        await http.ready();
        port = await intakeThreads.start(cfg.http.host, cfg.http.port);
      }
      logger.info({ port, carriers: carriers.size, http_threads: intakeThreads?.size ?? 0 }, 'xinge started');
      return { port };
    },
    reload(next: Config) {
      // Build everything new first: a config that fails here changes nothing.
      const nextPolicy = createPolicy(next, store, logger, metrics, Math.random, now);
      const r = reloadCarriers(carriers, next, (c) => opts.rateFactory(c, monotonic));
      pendingCarriers = r.pendingCarriers;
      cluster?.reload();
      cfg = next;
      policy = nextPolicy;
      smppServer?.reload(next);
      intakeThreads?.reload();
      const applied = [...r.applied, 'clients', 'templates', 'policy', 'routing', 'queue', 'webhooks'];
      logger.info({ applied }, 'config reloaded');
      if (r.pendingRestart.length > 0) logger.warn({ pending_restart: r.pendingRestart }, 'config reloaded: these changes wait for a restart (the binds run with the old values)');
      return { applied, pendingRestart: r.pendingRestart };
    },
    runMaintenance() {
      for (const job of maintenance) job();
    },
    intakeThreads: () => intakeThreads?.workers() ?? [],
    drainStep: () => drain.step,
    drain: () => drain.run(drainSteps),
  };
}
