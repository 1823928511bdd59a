/** Ids: time-ordered (sortable, index-friendly) with 80 random bits. */
import { randomBytes } from 'node:crypto';

let lastMs = 0;
let seq = 0;

export function newId(prefix: string, now = Date.now()): string {
  if (now === lastMs) seq++;
  else {
    lastMs = now;
    seq = 0;
  }
  const t = now.toString(36).padStart(9, '0');
  const s = (seq % 1296).toString(36).padStart(2, '0');
  return `${prefix}_${t}${s}${randomBytes(8).toString('base64url').slice(0, 10)}`;
}
