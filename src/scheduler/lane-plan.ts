/**
 * How a carrier's free capacity is shared between lanes (pure): OTP strictly first, the
 * others by weight so bulk never starves; what a lane cannot use goes to the next.
 */
import type { Category } from '../domain/types.js';

export interface LaneWeights {
  notification: number;
  collection: number;
  marketing: number;
}

/** Shares of `capacity` for the weighted lanes, given which lanes are open. */
export function weightedShares(capacity: number, weights: LaneWeights, open: ReadonlySet<Category>): Array<[Category, number]> {
  const lanes = (['notification', 'collection', 'marketing'] as const).filter((l) => open.has(l));
  const total = lanes.reduce((s, l) => s + weights[l], 0);
  if (capacity <= 0 || total === 0) return [];
  const out: Array<[Category, number]> = [];
  let given = 0;
  for (const l of lanes) {
    const n = Math.floor((capacity * weights[l]) / total);
    out.push([l, n]);
    given += n;
  }
  // Remainders go to the higher-priority lanes first.
  for (let i = 0; given < capacity && out.length > 0; i = (i + 1) % out.length) {
    out[i]![1]++;
    given++;
  }
  return out;
}
