/**
 * MM7 StatusCode → outcome (SPEC 9): from a per-MMSC table first, the class only for codes
 * the table does not name. TS 23.140 classes: 1xxx success, 2xxx client errors (permanent),
 * 3xxx server errors (temporary), 4xxx service errors (permanent) — but 3002–3004 are
 * permanent and 4006 "service unavailable" temporary, which is why the table comes first.
 */
export type Mm7Outcome = 'success' | 'temporary' | 'permanent';

export interface StatusCodeTable {
  success: readonly number[];
  temporary: readonly number[];
  permanent: readonly number[];
}

export const DEFAULT_STATUS_CODES: StatusCodeTable = {
  success: [1000, 1100],
  temporary: [3000, 3001, 4006],
  permanent: [2000, 2001, 2002, 2003, 2004, 2005, 2006, 2007, 3002, 3003, 3004, 4000],
};

export function classifyStatusCode(code: number, table: StatusCodeTable = DEFAULT_STATUS_CODES): Mm7Outcome {
  if (table.success.includes(code)) return 'success';
  if (table.permanent.includes(code)) return 'permanent';
  if (table.temporary.includes(code)) return 'temporary';
  const cls = Math.floor(code / 1000);
  if (cls === 1) return 'success';
  if (cls === 3) return 'temporary';
  return 'permanent';
}

/** DeliveryReportReq MMStatus → final message status (undefined: not final, e.g. Forwarded). */
export function messageStatusOfMmStatus(mmStatus: string): 'delivered' | 'expired' | 'rejected' | 'undeliverable' | 'unknown' | undefined {
  switch (mmStatus.trim().toLowerCase()) {
    case 'retrieved':
    case 'read':
      return 'delivered';
    case 'expired':
      return 'expired';
    case 'rejected':
    case 'unrecognised':
    case 'unrecognized':
      return 'rejected';
    case 'deleted':
    case 'notsupported':
    case 'notallowed':
      return 'undeliverable';
    case 'indeterminate':
    case 'deferred':
      return 'unknown';
    case 'forwarded':
      return undefined;
    default:
      return 'unknown';
  }
}
