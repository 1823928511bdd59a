/**
 * Statements with a literal LIMIT. SQLite marks a statement whose LIMIT is a bound parameter
 * for re-preparation whenever that parameter is bound (its planner reads the value), and
 * better-sqlite3 binds on every run: a peek of the queue cost ~25 µs of re-preparing
 * whatever it returned (3.7 µs with a literal). Here each limit gets its own prepared
 * statement, cached: SELECTs round the limit up a little (exact to 16, then to a multiple of
 * 16, of 64 past 256: a few dozen statements, at most ~7% of rows read for nothing; powers of
 * two over-read 40% on average, which cost more than the re-preparing did for large peeks)
 * and the caller keeps the first `limit` rows; `exact` statements (an UPDATE that claims
 * rows) use the value as given, the cache bounded.
 */
import type Database from 'better-sqlite3';

const MAX_EXACT = 64;

/** `sql` carries `LIMIT {limit}`; `raw`: rows as arrays (see SqliteMessageStore). */
export function limitedStatement(db: Database.Database, sql: string, exact = false, raw = false): (limit: number) => Database.Statement {
  if (!sql.includes('{limit}')) throw new Error('limitedStatement: the SQL has no {limit}');
  const cache = new Map<number, Database.Statement>();
  return (limit: number) => {
    const n = Math.max(1, Math.floor(limit));
    const key = exact || n <= 16 ? n : n <= 256 ? Math.ceil(n / 16) * 16 : Math.ceil(n / 64) * 64;
    let st = cache.get(key);
    if (st === undefined) {
      if (exact && cache.size >= MAX_EXACT) cache.clear();
      st = db.prepare(sql.replace('{limit}', String(key)));
      if (raw) st.raw(true);
      cache.set(key, st);
    }
    return st;
  };
}
