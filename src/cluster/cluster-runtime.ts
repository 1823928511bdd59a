/**
 * The daemon's cluster membership (issue 21) with `store.driver: postgres`: a pool on
 * store.url, the cluster schema, this node's heartbeat row, and the carriers' binds and TPS
 * under bind slot leases (cluster-binds.ts). app.ts starts it before the connectors (their
 * pools must be in leased mode before any bind) and stops it in the drain, once the
 * in-flight submits are answered: the binds unbind and the leases are handed back, the node
 * row is removed (the others rebalance at once), the pool ends.
 *
 * Logs name the database as host:port/database, never the URL (it may hold a password).
 */
import { hostname } from 'node:os';
import type pg from 'pg';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { ClusterBinds, type ClusterCarrier } from './cluster-binds.js';
import { clusterNodeId, type ClusterConfig } from './config.js';
import { createClusterPool } from './db.js';
import { ClusterError, redactUrl } from './errors.js';
import { createClusterMetrics, type ClusterMetrics } from './metrics.js';
import { migrateCluster } from './migrations.js';
import { NodeRegistry } from './node-registry.js';

export interface StartClusterOptions {
  /** What the daemon's config holds: store.url and the cluster section. */
  config: { store: { url?: string | undefined }; cluster: ClusterConfig; metrics: { prefix: string } };
  /** The daemon's carriers (their connectors not started yet). */
  carriers: () => Iterable<ClusterCarrier>;
  logger: Logger;
  /** The daemon's metrics registry; absent: no cluster metrics. */
  registry?: Registry;
}

export interface ClusterRuntime {
  nodeId: string;
  pool: pg.Pool;
  registry: NodeRegistry;
  binds: ClusterBinds;
  /** After a config reload has been applied to the carriers. */
  reload(): void;
  /** Unbinds and hands the leases back, deregisters, ends the pool. Idempotent. */
  stop(): Promise<void>;
}

/** Where the database is, for logs: host:port/database, no user or password. */
export function describeDatabase(url: string): string {
  try {
    const u = new URL(url);
    return `${u.hostname}${u.port ? `:${u.port}` : ''}${u.pathname}`;
  } catch {
    return redactUrl(url).replace(/^[a-z]+:\/\/[^@/]*@/i, '');
  }
}

export async function startCluster(o: StartClusterOptions): Promise<ClusterRuntime> {
  const url = o.config.store.url;
  if (url === undefined || url === '') throw new ClusterError('cluster_invalid_options', 'store.url: required with store.driver postgres');
  const c = o.config.cluster;
  const nodeId = clusterNodeId(c);
  const log = o.logger.child({ component: 'cluster', node_id: nodeId });
  const metrics: ClusterMetrics | undefined = o.registry ? createClusterMetrics(o.registry, o.config.metrics.prefix) : undefined;
  const pool = createClusterPool({
    url,
    statementTimeoutMs: c.statement_timeout_ms,
    idleInTransactionTimeoutMs: c.idle_in_transaction_timeout_ms,
    applicationName: `xinge ${nodeId}`.slice(0, 63),
    onIdleError: (message) => log.warn({ err: message }, 'cluster: an idle database connection failed (dropped from the pool)'),
  });
  const database = describeDatabase(url);
  let registry: NodeRegistry | undefined;
  try {
    const migrated = await migrateCluster(pool);
    registry = new NodeRegistry({
      pool,
      nodeId,
      ttlMs: c.node_ttl_ms,
      info: { host: hostname(), pid: process.pid },
      onError: (err) => {
        metrics?.error(err.code);
        log.warn({ code: err.code, err: err.message }, 'cluster: heartbeat failed');
      },
    });
    await registry.start();
    const reg = registry;
    const binds = new ClusterBinds({
      pool,
      nodeId,
      ttlMs: c.bind_lease_ttl_ms,
      renewEveryMs: c.bind_lease_renew_ms,
      safetyMarginMs: c.bind_lease_safety_ms,
      headroom: c.tps_headroom,
      liveNodes: () => reg.liveNodes(),
      carriers: o.carriers,
      logger: o.logger,
      metrics,
    });
    binds.prepare();
    binds.start();
    log.info({ database, schema_version: migrated.version, migrations_applied: migrated.applied, bind_lease_ttl_ms: c.bind_lease_ttl_ms, tps_headroom: c.tps_headroom }, 'cluster: node registered, bind slots by lease');
    let stopping: Promise<void> | undefined;
    return {
      nodeId,
      pool,
      registry: reg,
      binds,
      reload: () => binds.reload(),
      stop: () =>
        (stopping ??= (async () => {
          await binds.stop();
          await reg.stop().catch((err: unknown) => log.warn({ err: (err as Error).message }, 'cluster: deregistering failed (the row expires by itself)'));
          await pool.end().catch(() => undefined);
          log.info('cluster: left (binds closed, leases handed back)');
        })()),
    };
  } catch (err) {
    await registry?.stop().catch(() => undefined);
    await pool.end().catch(() => undefined);
    const e = err instanceof ClusterError ? err : new ClusterError('cluster_db_unavailable', `cluster start on ${database} failed: ${redactUrl((err as Error).message)}`, { cause: err });
    log.error({ code: e.code, err: e.message, database }, 'cluster: cannot join');
    throw e;
  }
}
