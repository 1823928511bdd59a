/** Ids: time-ordered (sortable, index-friendly) with 80 random bits. */
import { randomBytes } from 'node:crypto';

let lastMs = 0;
let seq = 0;
// Random bytes drawn in blocks: one getrandom per 4,096 ids instead of one per id.
let pool = Buffer.alloc(0);
let poolAt = 0;

function random8(): string {
  if (poolAt + 8 > pool.length) {
    pool = randomBytes(8 * 4096);
    poolAt = 0;
  }
  const s = pool.toString('base64url', poolAt, poolAt + 8).slice(0, 10);
  poolAt += 8;
  return s;
}

export function newId(prefix: string, now = Date.now()): string {
  if (now === lastMs) seq++;
  else {
    lastMs = now;
    seq = 0;
  }
  const t = now.toString(36).padStart(9, '0');
  const s = (seq % 1296).toString(36).padStart(2, '0');
  return `${prefix}_${t}${s}${random8()}`;
}

/** The smallest message id created at or after `t`: every id created before it sorts lower. */
export function idUpperBound(t: number, prefix = 'msg'): string {
  return `${prefix}_${Math.max(0, Math.floor(t)).toString(36).padStart(9, '0')}`;
}
