/**
 * Which store the test apps run on. By default SQLite in the test's temp dir. With
 * XINGE_TEST_PG_URL (a PostgreSQL admin URL; set by test/helpers/run-on-postgres.ts), each
 * test app gets a fresh PostgreSQL database of its own instead: the same tests then prove
 * the PostgreSQL store (issue 21.1).
 */
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { PgSyncClient } from '../../src/store/postgres/sync-client.js';
import { openStore, type Store } from '../../src/store/index.js';
import { clusterNodeId } from '../../src/cluster/config.js';
import type { Config } from '../../src/config/schema.js';
import type { ReceiptSettleItem } from '../../src/store/types.js';

let admin: PgSyncClient | undefined;
let count = 0;

export function testStoreSection(dir: string): Record<string, unknown> {
  const adminUrl = process.env.XINGE_TEST_PG_URL;
  if (adminUrl === undefined || adminUrl === '') return { path: join(dir, 'xinge.db') };
  admin ??= new PgSyncClient({ url: adminUrl, applicationName: 'xinge-test-admin' });
  const name = `t_${process.pid}_${++count}`;
  admin.run(`CREATE DATABASE ${name}`);
  return { driver: 'postgres', path: join(dir, 'xinge.db'), url: adminUrl.replace(/\/[^/?]*(\?.*)?$/, `/${name}`) };
}

/** True when the test apps run on PostgreSQL. */
export const onPostgres = (): boolean => (process.env.XINGE_TEST_PG_URL ?? '') !== '';

/** The store a config names, opened outside the app (as a restarted daemon would open it). */
export function openConfiguredStore(cfg: Config): Store {
  return openStore({ driver: cfg.store.driver, path: cfg.store.path, url: cfg.store.url, nodeId: clusterNodeId(cfg.cluster) });
}

/** Another connection to the store's database, read-only use: `?` placeholders on both backends. */
export function otherConnection(store: { driver?: string; path: string; url?: string }): { get(sql: string, ...params: unknown[]): unknown; close(): void } {
  if (store.driver === 'postgres') {
    const c = new PgSyncClient({ url: store.url!, applicationName: 'xinge-test-reader' });
    return {
      get: (sql, ...params) => {
        let i = 0;
        return c.one(sql.replace(/\?/g, () => `$${++i}`), params);
      },
      close: () => c.close(),
    };
  }
  const db = new Database(store.path, { readonly: true, fileMustExist: true });
  return { get: (sql, ...params) => db.prepare(sql).get(...params), close: () => db.close() };
}

/**
 * Receipt items as ReceiptHandler.handleMany batches them: an item sharing a (carrier, key)
 * with an earlier one is left out (the handler settles it after the batch, on its own).
 */
export function batchableReceipts(items: readonly ReceiptSettleItem[]): ReceiptSettleItem[] {
  const seen = new Set<string>();
  const out: ReceiptSettleItem[] = [];
  for (const it of items) {
    const pairs = it.keys.map((k) => `${it.carrierId}\u0000${k}`);
    if (!pairs.some((p) => seen.has(p))) out.push(it.settle === undefined ? { carrierId: it.carrierId, keys: it.keys } : it);
    for (const p of pairs) seen.add(p);
  }
  return out;
}
