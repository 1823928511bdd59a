/**
 * Receipt stat → segment status, exactly as SPEC 3:
 * DELIVRD → delivered; UNDELIV, DELETED → undeliverable; EXPIRED → expired;
 * REJECTD → rejected; UNKNOWN → unknown; ACCEPTD → accepted and ENROUTE → enroute
 * (intermediate: the segment is not final yet).
 */
import type { FinalStatus } from '../domain/types.js';
import type { ReceiptStat } from './receipt-parse.js';

export type ReceiptSegmentStatus = FinalStatus | 'accepted' | 'enroute';

const MAP: Readonly<Record<ReceiptStat, ReceiptSegmentStatus>> = {
  DELIVRD: 'delivered',
  UNDELIV: 'undeliverable',
  DELETED: 'undeliverable',
  EXPIRED: 'expired',
  REJECTD: 'rejected',
  UNKNOWN: 'unknown',
  ACCEPTD: 'accepted',
  ENROUTE: 'enroute',
};

export function receiptToStatus(stat: ReceiptStat): ReceiptSegmentStatus {
  return MAP[stat];
}
