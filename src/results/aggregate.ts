/**
 * Multipart aggregation (SPEC 3): a message's status from its segments' statuses. Pure.
 *
 * Rank of final states, worst first:
 *   rejected > undeliverable > expired > failed > unknown > canceled > delivered
 * (SPEC 3's order; `canceled`, which SPEC does not rank, sits just above `delivered`: a
 * message whose segments are partly canceled and partly delivered did not arrive whole,
 * but nothing failed. In practice cancel applies to every segment of a message at once.)
 *
 * mode `all` (carrier receipts every segment):
 *   undefined until every segment is final; then `delivered` if all are delivered, else the
 *   worst final state.
 *
 * mode `any` (many Chinese channels receipt only one segment of a long message):
 *   Segments split in three groups:
 *   - final (a receipt or a submit outcome ended them);
 *   - on the wire: `submitted`, `accepted`, `enroute` — the carrier took them and may never
 *     send a (final) receipt for them, so they do not hold the message back;
 *   - not yet sent: `queued`, `submitting` — their submit outcome (resp, retry budget) will
 *     come, and it can still be `rejected`/`failed`, so while any exists the answer is undefined.
 *   With no segment still to be sent:
 *   - no final segment → undefined (no receipt yet);
 *   - every final segment delivered (at least one) → `delivered`;
 *   - any final segment not delivered → the worst final state, whether or not some other
 *     segment was delivered (the message did not arrive whole) and without waiting for the
 *     on-the-wire ones (their receipts may never come).
 *
 * The function looks only at the current states: if a later receipt changes a segment, calling
 * it again can give a different (worse) answer; whether a final message status may be revised
 * is the caller's decision. `registered_delivery: none` (where `submitted` is final) and
 * receipt timeouts (segment → `unknown`) are applied by the caller to the segment states first.
 */
import { WORST_ORDER, isFinal } from '../domain/types.js';
import type { FinalStatus, MessageStatus, SegmentStatus } from '../domain/types.js';

export type MultipartReceipts = 'all' | 'any';

/** Worst first. */
export const AGGREGATE_ORDER: readonly FinalStatus[] = [
  ...WORST_ORDER.filter((s) => s !== 'delivered'),
  'canceled',
  'delivered',
];

function rank(s: FinalStatus): number {
  return AGGREGATE_ORDER.indexOf(s);
}

/** The worst of some final states (rejected first). */
export function worstOf(states: readonly FinalStatus[]): FinalStatus | undefined {
  let best: FinalStatus | undefined;
  for (const s of states) if (best === undefined || rank(s) < rank(best)) best = s;
  return best;
}

const ON_THE_WIRE: ReadonlySet<SegmentStatus> = new Set<SegmentStatus>(['submitted', 'accepted', 'enroute']);

export function aggregateMessageStatus(
  segmentStates: readonly SegmentStatus[],
  mode: MultipartReceipts,
): MessageStatus | undefined {
  if (segmentStates.length === 0) return undefined;
  const finals = segmentStates.filter(isFinal);
  if (mode === 'all') {
    if (finals.length !== segmentStates.length) return undefined;
    return worstOf(finals);
  }
  // any
  for (const s of segmentStates) if (!isFinal(s) && !ON_THE_WIRE.has(s)) return undefined;
  if (finals.length === 0) return undefined;
  return worstOf(finals);
}
