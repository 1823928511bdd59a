/**
 * The cluster schema on PostgreSQL (issue 21): an append-only list of migrations, applied
 * in one transaction under an advisory lock so that N daemons starting at once apply each
 * migration exactly once (the others wait for the lock, then find nothing left to do).
 *
 * Tables:
 * - cluster_nodes: one row per daemon, kept alive by heartbeats (node-registry.ts);
 * - cluster_bind_leases: one row per (carrier account, bind slot); the holder, a fencing
 *   epoch that grows on every change of holder, and the expiry on the database clock
 *   (bind-slot-leases.ts). Rows are never deleted, so the epoch never goes back.
 */
import type pg from 'pg';
import { asClusterError } from './errors.js';

export interface ClusterMigration {
  name: string;
  sql: string;
}

/** Append only; a migration once released is never edited. */
export const CLUSTER_MIGRATIONS: readonly ClusterMigration[] = [
  {
    name: 'nodes and bind slot leases',
    sql: `
      CREATE TABLE cluster_nodes (
        node_id      text PRIMARY KEY,
        started_at   timestamptz NOT NULL DEFAULT now(),
        heartbeat_at timestamptz NOT NULL DEFAULT now(),
        expires_at   timestamptz NOT NULL,
        info         jsonb NOT NULL DEFAULT '{}'::jsonb
      );
      CREATE TABLE cluster_bind_leases (
        account     text NOT NULL,
        slot        integer NOT NULL CHECK (slot >= 0),
        node_id     text,
        epoch       bigint NOT NULL DEFAULT 0,
        expires_at  timestamptz NOT NULL DEFAULT '-infinity',
        acquired_at timestamptz,
        PRIMARY KEY (account, slot)
      );
      CREATE INDEX cluster_bind_leases_node ON cluster_bind_leases (node_id) WHERE node_id IS NOT NULL;
      -- Renewals rewrite expires_at (not indexed) several times a TTL: room on the page keeps
      -- them HOT updates, and vacuum runs on a row count, not on a fraction of a tiny table.
      ALTER TABLE cluster_bind_leases SET (fillfactor = 50, autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 500);
      ALTER TABLE cluster_nodes SET (fillfactor = 50, autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 500);
    `,
  },
];

/** Any constant shared by all daemons; 'xinge' + 'mig' in ASCII, arbitrary but stable. */
const MIGRATION_LOCK_KEY = '7812083301447300711';

export interface MigrationResult {
  /** Versions (1-based positions in CLUSTER_MIGRATIONS) applied by this call. */
  applied: number[];
  /** The schema version after the call. */
  version: number;
}

export async function migrateCluster(pool: pg.Pool, migrations: readonly ClusterMigration[] = CLUSTER_MIGRATIONS): Promise<MigrationResult> {
  let client: pg.PoolClient;
  try {
    client = await pool.connect();
  } catch (err) {
    throw asClusterError('cluster_migration_failed', 'cluster migrations: cannot connect', err);
  }
  let failed = false;
  try {
    await client.query('BEGIN');
    // Migrations may take longer than the pool's statement_timeout, and waiting for another
    // daemon's migration is expected: lift the timeout for this transaction only.
    await client.query('SET LOCAL statement_timeout = 0');
    await client.query('SELECT pg_advisory_xact_lock($1::bigint)', [MIGRATION_LOCK_KEY]);
    await client.query(`CREATE TABLE IF NOT EXISTS cluster_schema_migrations (
      version    integer PRIMARY KEY,
      name       text NOT NULL,
      applied_at timestamptz NOT NULL DEFAULT now())`);
    const { rows } = await client.query<{ v: number | null }>('SELECT max(version) AS v FROM cluster_schema_migrations');
    const current = rows[0]?.v ?? 0;
    const applied: number[] = [];
    for (let i = current; i < migrations.length; i++) {
      const m = migrations[i]!;
      await client.query(m.sql);
      await client.query('INSERT INTO cluster_schema_migrations (version, name) VALUES ($1, $2)', [i + 1, m.name]);
      applied.push(i + 1);
    }
    await client.query('COMMIT');
    return { applied, version: Math.max(current, migrations.length) };
  } catch (err) {
    failed = true;
    await client.query('ROLLBACK').catch(() => {});
    throw asClusterError('cluster_migration_failed', 'cluster migrations failed', err);
  } finally {
    client.release(failed);
  }
}
