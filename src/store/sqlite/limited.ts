/**
 * Statements with a literal LIMIT. SQLite marks a statement whose LIMIT is a bound parameter
 * for re-preparation whenever that parameter is bound (its planner reads the value), and
 * better-sqlite3 binds on every run: a peek of the queue cost ~25 µs of re-preparing
 * whatever it returned (3.7 µs with a literal). Here each limit gets its own prepared
 * statement, cached: SELECTs round the limit up to a power of two (a handful of statements)
 * and the caller keeps the first `limit` rows; `exact` statements (an UPDATE that claims
 * rows) use the value as given, the cache bounded.
 */
import type Database from 'better-sqlite3';

const MAX_EXACT = 64;

/** `sql` carries `LIMIT {limit}`. */
export function limitedStatement(db: Database.Database, sql: string, exact = false): (limit: number) => Database.Statement {
  if (!sql.includes('{limit}')) throw new Error('limitedStatement: the SQL has no {limit}');
  const cache = new Map<number, Database.Statement>();
  return (limit: number) => {
    const n = Math.max(1, Math.floor(limit));
    const key = exact ? n : 2 ** Math.ceil(Math.log2(n));
    let st = cache.get(key);
    if (st === undefined) {
      if (exact && cache.size >= MAX_EXACT) cache.clear();
      st = db.prepare(sql.replace('{limit}', String(key)));
      cache.set(key, st);
    }
    return st;
  };
}
