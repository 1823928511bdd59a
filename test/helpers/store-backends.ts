/**
 * Store contract tests (issue 21.1): the same test body runs against the SQLite stores and
 * the PostgreSQL ones, so both backends answer alike. Each PostgreSQL run gets a fresh
 * database in the test file's throwaway cluster (helpers/postgres.ts), migrated; each SQLite
 * run an in-memory database.
 */
import type { Test } from 'tap';
import type Database from 'better-sqlite3';
import { openDatabase } from '../../src/store/sqlite/database.js';
import { SqliteAuxStore } from '../../src/store/sqlite/aux-store.js';
import { SqliteCallerIdStore } from '../../src/store/sqlite/callerid-store.js';
import { SqliteSmppOutbox } from '../../src/store/sqlite/smpp-outbox.js';
import { SqliteMmsStore } from '../../src/store/sqlite/mms-store.js';
import { PgSyncClient } from '../../src/store/postgres/sync-client.js';
import { migratePgStore } from '../../src/store/postgres/migrations.js';
import { PgAuxStore } from '../../src/store/postgres/aux-store.js';
import { PgCallerIdStore } from '../../src/store/postgres/callerid-store.js';
import { PgSmppOutbox } from '../../src/store/postgres/smpp-outbox.js';
import { PgMmsStore } from '../../src/store/postgres/mms-store.js';
import type { AuxStore, SmppOutboxStore } from '../../src/store/types.js';
import type { CallerIdStore } from '../../src/callerid/store.js';
import type { MmsStore } from '../../src/store/mms-types.js';
import type { TestPostgres } from './postgres.js';

export interface StoreBackend {
  name: 'sqlite' | 'postgres';
  aux: AuxStore;
  callerId: CallerIdStore;
  smppOutbox: SmppOutboxStore;
  mms: MmsStore;
  /**
   * One statement of the test's own (setup, checks), written with $1…$n, each used once and
   * in order (SQLite gets them as ?).
   */
  sql<R = Record<string, unknown>>(text: string, params?: unknown[]): R[];
  /** PostgreSQL only: this run's database, for more clients (more daemons). */
  url: string | undefined;
}

let databases = 0;

/** Opens a migrated PostgreSQL database of its own in the cluster; closed at teardown. */
export async function freshPgDatabase(t: Test, pgc: TestPostgres): Promise<{ url: string; client: PgSyncClient }> {
  const name = `contract_${process.pid}_${++databases}`;
  await pgc.query(`CREATE DATABASE ${name}`);
  const url = pgc.url.replace(/\/[^/]+$/, `/${name}`);
  const client = new PgSyncClient({ url, applicationName: `xinge-test-${name}` });
  t.teardown(() => client.close());
  migratePgStore(client);
  return { url, client };
}

function sqliteBackend(t: Test): StoreBackend {
  const db: Database.Database = openDatabase(':memory:');
  t.teardown(() => db.close());
  return {
    name: 'sqlite',
    aux: new SqliteAuxStore(db),
    callerId: new SqliteCallerIdStore(db),
    smppOutbox: new SqliteSmppOutbox(db),
    mms: new SqliteMmsStore(db),
    sql<R>(text: string, params: unknown[] = []): R[] {
      const st = db.prepare(text.replace(/\$\d+/g, '?'));
      if (st.reader) return st.all(...params) as R[];
      st.run(...params);
      return [];
    },
    url: undefined,
  };
}

async function pgBackend(t: Test, pgc: TestPostgres): Promise<StoreBackend> {
  const { url, client } = await freshPgDatabase(t, pgc);
  return {
    name: 'postgres',
    aux: new PgAuxStore(client),
    callerId: new PgCallerIdStore(client),
    smppOutbox: new PgSmppOutbox(client),
    mms: new PgMmsStore(client),
    sql: <R>(text: string, params: unknown[] = []) => client.query<R>(text, params),
    url,
  };
}

/**
 * Runs `body` as two subtests, "<name> [sqlite]" and "<name> [postgres]" (the latter only
 * when the file's cluster started: startTestPostgres skips or fails without PostgreSQL).
 */
export function contract(t: Test, pgc: TestPostgres | undefined, name: string, body: (t: Test, b: StoreBackend) => void | Promise<void>): void {
  t.test(`${name} [sqlite]`, async (t) => body(t, sqliteBackend(t)));
  if (pgc !== undefined) t.test(`${name} [postgres]`, async (t) => body(t, await pgBackend(t, pgc)));
}

/** A row of `messages` with a sealed body, for the OTP body purges (columns both schemas have). */
export function insertSealedMessage(b: StoreBackend, id: string, body: Buffer): void {
  b.sql(`INSERT INTO messages (id, client, category, lane, status, to_number, body_enc, encoding, segmentation, segments, pending,
    carrier_id, concat_ref, send_at, expires_at, created_at) VALUES ($1, 'c1', 'otp', 0, 'queued', '+8613800000000', $2, 'gsm7', 'udh8', 1, 1,
    'cmcc', 0, 0, 9999999999999, 0)`, [id, body]);
}
