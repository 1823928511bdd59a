/** Ids: time-ordered (sortable, index-friendly) with 60 random bits. */
import { randomBytes } from 'node:crypto';

let lastMs = 0;
let seq = 0;
// Random characters drawn in blocks: one getrandom and one base64url conversion per 4,096
// ids instead of one each per id. Each id takes 10 characters (60 random bits).
const ID_CHARS = 10;
const BLOCK_IDS = 4096;
let pool = '';
let poolAt = 0;

function random10(): string {
  if (poolAt + ID_CHARS > pool.length) {
    // 3 bytes are 4 characters: 30,720 bytes are exactly 4,096 ids' worth, no padding.
    pool = randomBytes((BLOCK_IDS * ID_CHARS * 3) / 4).toString('base64url');
    poolAt = 0;
  }
  const s = pool.slice(poolAt, poolAt + ID_CHARS);
  poolAt += ID_CHARS;
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
  return `${prefix}_${t}${s}${random10()}`;
}

/** The smallest message id created at or after `t`: every id created before it sorts lower. */
export function idUpperBound(t: number, prefix = 'msg'): string {
  return `${prefix}_${Math.max(0, Math.floor(t)).toString(36).padStart(9, '0')}`;
}
