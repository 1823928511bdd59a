/**
 * The connection pool the cluster modules share. The session settings here are the ones
 * that keep a lease or queue table healthy (docs/cluster.md):
 * - statement_timeout: a query stuck behind a lock fails instead of holding a lease
 *   renewal past its deadline;
 * - idle_in_transaction_session_timeout: a transaction left open by a bug does not hold
 *   back vacuum on the hot tables for ever;
 * - query_timeout (client side): a query on a connection that went silent (partition)
 *   fails, so the pool drops that connection and the next tick opens a new one.
 * An idle client that errors (backend terminated, server restart) is dropped by the pool;
 * the 'error' handler below keeps that from crashing the process.
 */
import pg from 'pg';
import { redactUrl } from './errors.js';

export interface ClusterPoolOptions {
  url: string;
  /** Connections; the lease, registry and notify work needs few. Default 4. */
  max?: number;
  /** Server-side statement_timeout in ms. Default 5000. */
  statementTimeoutMs?: number;
  /** Server-side idle_in_transaction_session_timeout in ms. Default 10000. */
  idleInTransactionTimeoutMs?: number;
  /** Client-side timeout of one query, ms. Default statementTimeoutMs + 1000. */
  queryTimeoutMs?: number;
  /** Client-side timeout of opening a connection, ms. Default 5000. */
  connectTimeoutMs?: number;
  /** Shown in pg_stat_activity. Default 'xinge'. */
  applicationName?: string;
  /** Called with the (redacted) message when an idle pooled connection fails. */
  onIdleError?: (message: string) => void;
}

export function createClusterPool(o: ClusterPoolOptions): pg.Pool {
  const statementTimeout = o.statementTimeoutMs ?? 5000;
  const pool = new pg.Pool({
    connectionString: o.url,
    max: o.max ?? 4,
    statement_timeout: statementTimeout,
    idle_in_transaction_session_timeout: o.idleInTransactionTimeoutMs ?? 10000,
    query_timeout: o.queryTimeoutMs ?? statementTimeout + 1000,
    connectionTimeoutMillis: o.connectTimeoutMs ?? 5000,
    application_name: o.applicationName ?? 'xinge',
    keepAlive: true,
    idleTimeoutMillis: 30000,
  });
  pool.on('error', (err) => o.onIdleError?.(redactUrl(err.message)));
  return pool;
}
