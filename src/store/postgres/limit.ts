/**
 * LIMIT values bound as parameters, with SQLite's meaning: PostgreSQL refuses a negative
 * LIMIT where SQLite reads it as "no limit", and a bigint parameter refuses a fraction.
 */

/** `LIMIT $n` as SQLite would read `LIMIT ?`: negative is no limit (NULL), fractions round down. */
export function sqlLimit(limit: number): number | null {
  if (!Number.isFinite(limit)) return limit > 0 ? null : 0;
  return limit < 0 ? null : Math.floor(limit);
}

/** The limit the SQLite store's limitedStatement applies: at least 1, whole. */
export function stepLimit(limit: number): number {
  return Math.max(1, Math.floor(Number.isFinite(limit) ? limit : 1));
}
