/**
 * Running the daemon: build the app from a config with the real connectors (SMPP bind
 * pools, adaptive token buckets), start the embedded simulator when configured, and handle
 * SIGHUP (reload) and SIGTERM/SIGINT (drain, exit 0).
 */
import type { Logger } from 'pino';
import { buildApp, type App } from './app.js';
import type { Config, CarrierConfig } from './config/schema.js';
import { loadConfigFile } from './config/load.js';
import { configSecrets, createLogger } from './observability/logger.js';
import { maskDigitsIn } from './observability/redact.js';
import type { Metrics } from './observability/metrics.js';
import { BindPool } from './carriers/smpp/index.js';
import type { SmppMetrics } from './carriers/smpp/index.js';
import { AdaptiveTokenBucket } from './scheduler/rate-limiter.js';
import { SmscSimulator } from './sim/smsc.js';
import { listenFailure } from './cli-errors.js';
import { pointAtReceiver, startBuiltinMmsc } from './sim/mmsc-builtin.js';
import { startSimWeb, type SimWeb } from './sim/web-server.js';

export function smppMetrics(m: Metrics): SmppMetrics {
  // One resp and two in-flight changes per submit: the hot children (fast-metrics).
  const resp = m.hot.submitResp;
  const inFlight = m.hot.windowInFlight;
  return {
    bindState: (carrier, index, up) => m.bindUp.set({ carrier, bind: String(index) }, up ? 1 : 0),
    reconnect: (carrier) => m.reconnects.inc({ carrier }),
    bindFailure: (carrier, status) => m.bindFailures.inc({ carrier, status }),
    authFailure: (carrier) => m.authFailures.inc({ carrier }),
    submitResp: (carrier, status) => resp(carrier, status).inc(),
    submitNoResp: (carrier, kind) => m.submitResp.inc({ carrier, status: kind }),
    // Protocol faults of the SMSC, as submit_sm_resp "statuses" an alert can watch.
    protocolError: (carrier, command) => m.submitResp.inc({ carrier, status: `protocol_error:${command}` }),
    malformedMessageId: (carrier) => m.submitResp.inc({ carrier, status: 'ESME_ROK_malformed_id' }),
    lateResp: (carrier, outcome) => m.submitResp.inc({ carrier, status: `late_resp:${outcome}` }),
    silentBind: (carrier) => m.bindFailures.inc({ carrier, status: 'silent_bind' }),
    inFlight: (carrier, n) => inFlight(carrier).set(n),
  };
}

export function realConnectors(): Pick<Parameters<typeof buildApp>[0], 'connectorFactory' | 'rateFactory'> {
  return {
    connectorFactory: (c: CarrierConfig, ctx: { logger: Logger; metrics: Metrics }) =>
      new BindPool(c, { logger: ctx.logger, metrics: smppMetrics(ctx.metrics) }),
    // `now` is the app's monotonic clock; a window of throttled answers is what the account can have in flight.
    rateFactory: (c: CarrierConfig, now: () => number) =>
      new AdaptiveTokenBucket({ tps: c.tps, burst: c.burst ?? Math.max(1, Math.ceil(c.tps)), now, throttleWindow: c.window * c.binds }),
  };
}

export interface RunningDaemon {
  app: App;
  sim: SmscSimulator | undefined;
  /** The simulator's HTTP port (handset inbox), when simulator.http_port is set. */
  simWeb: SimWeb | undefined;
  port: number;
  stop(): Promise<void>;
}

export async function startDaemon(config: Config, logger: Logger, opts: { onFatal?: (err: Error) => void } = {}): Promise<RunningDaemon> {
  let sim: SmscSimulator | undefined;
  let simWeb: SimWeb | undefined;
  if (config.simulator.enabled) {
    sim = new SmscSimulator({
      host: config.simulator.host,
      port: config.simulator.port,
      accounts: [{ systemId: config.simulator.system_id, password: config.simulator.password }],
      receipts: { delayMs: config.simulator.receipt_delay_ms },
      recordLimit: 10000,
      logger: logger.child({ component: 'sim' }),
    });
    const { port } = await sim.start().catch((err: unknown) => {
      throw listenFailure(err, config.simulator.host, config.simulator.port, 'simulator.port');
    });
    logger.info({ port }, 'built-in SMSC simulator listening');
  }
  const mmsc = await startBuiltinMmsc(config, logger);
  if (sim !== undefined && config.simulator.http_port !== undefined) {
    simWeb = await startSimWeb(sim, { host: config.simulator.host, port: config.simulator.http_port, ...(mmsc !== undefined ? { mmsc } : {}) });
    logger.info({ port: simWeb.port }, 'simulator handset inbox on /sim/');
  }
  const app = buildApp({ config, logger, ...realConnectors(), ...(opts.onFatal !== undefined ? { onFatal: opts.onFatal } : {}) });
  let port: number;
  try {
    ({ port } = await app.start());
  } catch (err) {
    await sim?.stop().catch(() => undefined);
    throw listenFailure(err, config.http.host, config.http.port, 'http.port');
  }
  if (mmsc !== undefined) pointAtReceiver(mmsc, config, app.mms.receiverPort());
  return {
    app,
    sim,
    simWeb,
    port,
    async stop() {
      await app.drain();
      await mmsc?.stop();
      await simWeb?.stop();
      await sim?.stop();
    },
  };
}

/** The `xinge [--config FILE]` command: runs until SIGTERM/SIGINT. */
export async function runDaemon(configPath: string): Promise<void> {
  const config = loadConfigFile(configPath);
  const logger = createLogger(config.log.level, undefined, { secrets: configSecrets(config) });
  let d: RunningDaemon | undefined;
  let stopRequested: string | undefined;
  let stopping = false;
  const stop = (signal: string) => {
    if (d === undefined) {
      // Still starting: drain as soon as it is up.
      stopRequested = signal;
      return;
    }
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'draining');
    // A drain that hangs must not keep the process alive for ever, and says where it hung.
    const limitS = config.shutdown_grace_s + 15;
    const running = d;
    setTimeout(() => {
      const appStep = running.app.drainStep();
      const step = appStep === 'done' ? 'built-in simulator stop' : appStep ?? 'not started';
      logger.error({ step, limitS }, 'drain timed out');
      process.stderr.write(`xinge: drain timed out after ${limitS} s during: ${step}\n`);
      process.exit(1);
    }, limitS * 1000).unref();
    d.stop().then(
      () => {
        logger.info('stopped');
        logger.flush?.();
        process.exit(0);
      },
      (err: unknown) => {
        logger.error({ err }, 'drain failed');
        process.stderr.write(`xinge: drain failed: ${maskDigitsIn((err as Error).message ?? String(err))}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGHUP', () => {
    if (d === undefined) {
      logger.warn('SIGHUP during start-up ignored');
      return;
    }
    try {
      const next = loadConfigFile(configPath);
      d.app.reload(next);
    } catch (err) {
      const errors = (err as { errors?: string[] }).errors ?? [(err as Error).message];
      logger.error({ errors }, 'config reload refused: keeping the old config');
    }
  });
  // A part of the daemon died (an HTTP thread): one line, exit 1; systemd restarts it.
  const onFatal = (err: Error) => {
    logger.flush?.();
    process.stderr.write(`xinge: ${maskDigitsIn(err.message)}; stopping\n`);
    process.exit(1);
  };
  d = await startDaemon(config, logger, { onFatal });
  if (stopRequested !== undefined) stop(stopRequested);
}
