/**
 * Config keys of the cluster layer (issue 21), for the lead to hook into
 * src/config/schema.ts as `cluster: clusterConfigSchema.default({})` (docs/cluster.md lists
 * them). Strict like the rest of the config: an unknown key is an error naming its path.
 * The PostgreSQL URL is not here: it is the store's (`store.url`, from the environment).
 */
import { hostname } from 'node:os';
import { z } from 'zod';

const ms = (min: number, max: number) =>
  z
    .number({ invalid_type_error: `expected integer ${min}..${max}` })
    .int({ message: `expected integer ${min}..${max}` })
    .min(min, { message: `expected integer ${min}..${max}` })
    .max(max, { message: `expected integer ${min}..${max}` });

export const clusterConfigSchema = z
  .object({
    /** This daemon's id in cluster_nodes and on its leases; default `<hostname>-<pid>`. Unique per process. */
    node_id: z.string({ invalid_type_error: 'expected string' }).regex(/^[A-Za-z0-9._:-]{1,100}$/, { message: 'expected 1-100 characters of A-Z a-z 0-9 . _ : -' }).optional(),
    /** A node that has not heartbeated for this long counts as gone (its share of binds is redistributed). */
    node_ttl_ms: ms(1000, 300000).default(10000),
    /** Length of a bind slot lease on the database clock; a crashed node's binds are re-opened elsewhere after about this. */
    bind_lease_ttl_ms: ms(1000, 300000).default(10000),
    /** Renewal interval; default a third of the TTL. */
    bind_lease_renew_ms: ms(100, 100000).optional(),
    /** A bind is closed this long before its lease could expire when renewals fail; default a quarter of the TTL. */
    bind_lease_safety_ms: ms(100, 100000).optional(),
    /** Fraction of an account's tps the nodes share out (≤ 1): room for slot moves and clock-rate differences. */
    tps_headroom: z.number({ invalid_type_error: 'expected number in (0, 1]' }).gt(0, { message: 'expected number in (0, 1]' }).max(1, { message: 'expected number in (0, 1]' }).default(0.9),
    /** Server-side statement_timeout of the cluster's connections. */
    statement_timeout_ms: ms(100, 600000).default(5000),
    /** Server-side idle_in_transaction_session_timeout: a forgotten transaction must not hold back vacuum. */
    idle_in_transaction_timeout_ms: ms(1000, 3600000).default(10000),
  })
  .strict()
  .superRefine((c, ctx) => {
    const renew = c.bind_lease_renew_ms ?? c.bind_lease_ttl_ms / 3;
    const safety = c.bind_lease_safety_ms ?? c.bind_lease_ttl_ms / 4;
    if (renew + safety >= c.bind_lease_ttl_ms) {
      ctx.addIssue({
        code: z.ZodIssueCode.custom,
        path: ['bind_lease_renew_ms'],
        message: `bind_lease_renew_ms (${renew}) + bind_lease_safety_ms (${safety}) must be below bind_lease_ttl_ms (${c.bind_lease_ttl_ms})`,
      });
    }
  });

export type ClusterConfig = z.infer<typeof clusterConfigSchema>;

/** The node id to use: configured, else `<hostname>-<pid>`. */
export function clusterNodeId(c: ClusterConfig): string {
  return c.node_id ?? `${hostname()}-${process.pid}`;
}
