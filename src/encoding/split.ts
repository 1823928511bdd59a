/**
 * Where to cut a text into parts (SPEC 6), in the units of its encoding: septets (GSM),
 * UTF-16 units (UCS-2) or octets (Latin-1). Shared by segmentText and countSegments so
 * that the count quoted at intake is always the count sent.
 */
import type { EncodingName, SegmentationMode } from '../domain/types.js';

type PartSizes = Readonly<Record<'single' | Exclude<SegmentationMode, 'payload'>, number>>;

/**
 * User data per part. These are limits of the 140-octet air interface: GSM 160 septets,
 * less 7 septets for a 6-octet UDH (48 bits + 1 fill bit) or 8 for a 7-octet one (56
 * bits); UCS-2 and Latin-1 lose the UDH octets (UCS-2 rounded down to whole units). SAR
 * parts carry no UDH but take the 8-bit sizes because the SMSC turns SAR into a UDH.
 */
export const PART_SIZES: Readonly<Record<EncodingName, PartSizes>> = {
  gsm7: { single: 160, udh8: 153, udh16: 152, sar: 153 },
  ucs2: { single: 70, udh8: 67, udh16: 66, sar: 67 },
  latin1: { single: 140, udh8: 134, udh16: 133, sar: 134 },
};

/** Concatenation counts are one octet in the UDH and in sar_total_segments. */
export const MAX_PARTS = 255;

/** True when a part [start, end) may not end at `end` (splits a pair, escape, ...). */
export type BadEnd = (start: number, end: number) => boolean;

/**
 * Greedy cut: each part takes as many units as fit, one (or two) fewer when its end
 * would be bad. Returns the exclusive end of every part; the last is `length`.
 */
export function planCuts(length: number, limit: number, badEnd: BadEnd): number[] {
  const cuts: number[] = [];
  let start = 0;
  while (start < length) {
    let end = Math.min(start + limit, length);
    while (end > start && badEnd(start, end)) end--;
    if (end === start) {
      borrow(cuts, length, limit, badEnd);
      break;
    }
    cuts.push(end);
    start = end;
  }
  return cuts;
}

/**
 * A tail that cannot stand alone as a part: in packed GSM after a 6-octet UDH a lone CR
 * fills its octet exactly and would read as padding. Move the previous cut back until the
 * previous part and the (now longer) tail may both end where they do.
 */
function borrow(cuts: number[], length: number, limit: number, badEnd: BadEnd): void {
  const prevStart = cuts.length > 1 ? cuts[cuts.length - 2]! : 0;
  const start = cuts.length > 0 ? cuts[cuts.length - 1]! : 0;
  for (let at = start - 1; at > prevStart; at--) {
    if (!badEnd(prevStart, at) && length - at <= limit && !badEnd(at, length)) {
      cuts[cuts.length - 1] = at;
      cuts.push(length);
      return;
    }
  }
  throw new Error(`encoding: no valid cut for a tail of ${length - start} units`);
}
