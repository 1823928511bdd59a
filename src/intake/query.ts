/**
 * Query strings at the edge (issue 15 point 10): every parameter at most once (a repeated
 * one arrived as an array and reached SQL as many parameters: a 500), and only the names
 * a route knows.
 */
import { ApiError } from '../domain/errors.js';

/** The query as single strings; 400 naming the parameter for a repeat or an unknown name. */
export function singleParams(query: unknown, known: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  if (query === null || typeof query !== 'object') return out;
  for (const [k, v] of Object.entries(query as Record<string, unknown>)) {
    if (!known.includes(k)) throw new ApiError('invalid_field', `unknown query parameter ${k.slice(0, 40)} (known: ${known.join(', ') || 'none'})`, { field: k.slice(0, 40) });
    if (Array.isArray(v)) throw new ApiError('invalid_field', `query parameter ${k} given more than once`, { field: k });
    out[k] = String(v);
  }
  return out;
}

/** Any repeated query parameter is refused (the global hook: routes of every module). */
export function refuseRepeatedParams(query: unknown): void {
  if (query === null || typeof query !== 'object') return;
  for (const [k, v] of Object.entries(query as Record<string, unknown>)) {
    if (Array.isArray(v)) throw new ApiError('invalid_field', `query parameter ${k.slice(0, 40)} given more than once`, { field: k.slice(0, 40) });
  }
}

/** An integer parameter in lo..hi, or the default when absent. */
export function intParam(params: Record<string, string>, name: string, lo: number, hi: number, dflt: number): number {
  const v = params[name];
  if (v === undefined) return dflt;
  if (!/^\d{1,9}$/.test(v) || Number(v) < lo || Number(v) > hi) throw new ApiError('invalid_field', `${name} must be an integer ${lo}..${hi}`, { field: name });
  return Number(v);
}
