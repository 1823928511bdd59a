/** Core domain vocabulary shared by every layer (no I/O here). */

export const CATEGORIES = ['otp', 'notification', 'collection', 'marketing'] as const;
export type Category = (typeof CATEGORIES)[number];

/** Lanes are categories: the category alone decides the lane (SPEC 3). Order = priority. */
export const LANES: readonly Category[] = CATEGORIES;

export const FINAL_STATUSES = [
  'delivered',
  'undeliverable',
  'expired',
  'rejected',
  'failed',
  'unknown',
  'canceled',
] as const;
export type FinalStatus = (typeof FINAL_STATUSES)[number];
export type MessageStatus = 'queued' | 'scheduled' | 'submitting' | 'submitted' | FinalStatus;

/** Segment states: the same words as messages, plus the intermediate receipt states. */
export type SegmentStatus = 'queued' | 'submitting' | 'submitted' | 'accepted' | 'enroute' | FinalStatus;

export function isFinal(s: string): s is FinalStatus {
  return (FINAL_STATUSES as readonly string[]).includes(s);
}

/**
 * Worst-state order for multipart aggregation (SPEC 3):
 * rejected > undeliverable > expired > failed > unknown > delivered.
 */
export const WORST_ORDER: readonly FinalStatus[] = [
  'rejected',
  'undeliverable',
  'expired',
  'failed',
  'unknown',
  'delivered',
];

export type EncodingName = 'gsm7' | 'ucs2' | 'latin1';
export type SegmentationMode = 'udh8' | 'udh16' | 'sar' | 'payload';
