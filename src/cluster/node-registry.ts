/**
 * Which daemons are alive (issue 21). Each node upserts its row with expires_at = the
 * database's now() + TTL every TTL/3; a node whose row has expired counts as gone. Expiry
 * is judged on the database clock only, so the nodes' own clocks never have to agree.
 *
 * The live list feeds the bind slot quota (slot-quota.ts): more live nodes, fewer slots each.
 */
import type pg from 'pg';
import { ClusterError, asClusterError } from './errors.js';

export interface NodeRegistryOptions {
  pool: pg.Pool;
  nodeId: string;
  /** A node that has not heartbeated for this long is gone. */
  ttlMs: number;
  /** Default ttlMs / 3. */
  heartbeatEveryMs?: number;
  /** Free-form facts shown to operators (host, pid, version). */
  info?: Record<string, unknown>;
  /** A heartbeat failed (the next one is tried on schedule). */
  onError?: (err: ClusterError) => void;
}

export class NodeRegistry {
  readonly nodeId: string;
  readonly #o: NodeRegistryOptions;
  #timer: NodeJS.Timeout | undefined;
  #beating: Promise<void> | undefined;

  constructor(o: NodeRegistryOptions) {
    if (!(o.ttlMs > 0)) throw new ClusterError('cluster_invalid_options', 'node registry: ttlMs must be > 0');
    if (!o.nodeId) throw new ClusterError('cluster_invalid_options', 'node registry: nodeId is required');
    this.#o = o;
    this.nodeId = o.nodeId;
  }

  /** First heartbeat (awaited: a node that cannot register does not start), then on a timer. */
  async start(): Promise<void> {
    await this.heartbeat();
    const every = this.#o.heartbeatEveryMs ?? this.#o.ttlMs / 3;
    this.#timer = setInterval(() => {
      if (this.#beating) return; // the previous one is still waiting on the database
      this.#beating = this.heartbeat()
        .catch((err: unknown) => this.#o.onError?.(err as ClusterError))
        .finally(() => (this.#beating = undefined));
    }, every);
    this.#timer.unref();
  }

  async heartbeat(): Promise<void> {
    try {
      await this.#o.pool.query(
        `INSERT INTO cluster_nodes (node_id, expires_at, info)
         VALUES ($1, now() + make_interval(secs => $2::double precision / 1000), $3::jsonb)
         ON CONFLICT (node_id) DO UPDATE SET heartbeat_at = now(), expires_at = EXCLUDED.expires_at, info = EXCLUDED.info`,
        [this.nodeId, this.#o.ttlMs, JSON.stringify(this.#o.info ?? {})],
      );
    } catch (err) {
      throw asClusterError('cluster_db_unavailable', `node ${this.nodeId}: heartbeat failed`, err);
    }
  }

  /** Ids of the nodes whose heartbeat has not expired, sorted. */
  async liveNodes(): Promise<string[]> {
    try {
      const { rows } = await this.#o.pool.query<{ node_id: string }>('SELECT node_id FROM cluster_nodes WHERE expires_at > now() ORDER BY node_id');
      return rows.map((r) => r.node_id);
    } catch (err) {
      throw asClusterError('cluster_db_unavailable', 'live nodes query failed', err);
    }
  }

  /** Stops heartbeating and removes the row, so the others rebalance at once (a crash waits for the TTL). */
  async stop(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#beating;
    try {
      await this.#o.pool.query('DELETE FROM cluster_nodes WHERE node_id = $1', [this.nodeId]);
    } catch (err) {
      throw asClusterError('cluster_db_unavailable', `node ${this.nodeId}: deregister failed`, err);
    }
  }
}
