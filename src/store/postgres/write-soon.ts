import type { PgSyncClient } from './sync-client.js';

/**
 * A write whose answer nobody reads (no rows, no count) and that valid input cannot make
 * fail: inside a transaction it goes with the next statement that waits (COMMIT at the
 * latest), saving a round trip on the hot paths; outside one it is sent now, so it is never
 * left unsent. A later read in the same transaction sees it (deferred statements run first).
 */
export function writeSoon(c: PgSyncClient, sql: string, params: readonly unknown[]): void {
  if (c.inTransaction) c.defer(sql, params);
  else c.run(sql, params);
}
