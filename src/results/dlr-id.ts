/**
 * Matching a receipt's message id to the submit_sm_resp id (SPEC 7, carrier `dlr_id`). Pure.
 *
 * Store side: the resp's message_id is stored as `normaliseId(respId)`.
 * Receipt side: `candidateIds(dlrId, mode)` gives the keys to look up, in order; the first
 * that matches an outstanding segment wins (`matchReceipt`).
 *
 * Modes are named like Kannel's msg-id-type / Jasmin's dlr_msgid, after what the carrier does
 * to the id between the resp and the receipt:
 * - `as_is`      — same form in both: [id].
 * - `hex_to_dec` — the resp id is hex, the receipt id is its decimal value: the receipt id is
 *                  read as decimal and written in hex (the resp's form): [hex(dec(id))].
 * - `dec_to_hex` — the resp id is decimal, the receipt id is its hex value: the receipt id is
 *                  read as hex and written in decimal: [dec(hex(id))].
 * - `auto`       — SPEC 7's order: [id as is, id read as hex → decimal, id read as decimal → hex],
 *                  skipping conversions that do not apply (a non-hex id has no hex reading, a
 *                  non-decimal one no decimal reading) and duplicates.
 * In the explicit modes an id that cannot be read in the expected base gives no candidate at
 * all: the receipt goes unmatched (and counted), which shows a misconfigured carrier rather than
 * hiding it. Conversions use BigInt: ids exceed 2^53.
 */

export type DlrIdMode = 'as_is' | 'hex_to_dec' | 'dec_to_hex' | 'auto';

/** Trim, lowercase, strip leading zeros (all zeros → '0'). '' stays ''. */
export function normaliseId(id: string): string {
  const s = id.replace(/\0/g, '').trim().toLowerCase();
  if (s === '') return '';
  const stripped = s.replace(/^0+/, '');
  return stripped === '' ? '0' : stripped;
}

const DEC_RE = /^[0-9]+$/;
const HEX_RE = /^[0-9a-f]+$/;

/** Decimal digits → lowercase hex without leading zeros; undefined when not decimal. */
export function decToHex(id: string): string | undefined {
  const s = normaliseId(id);
  if (!DEC_RE.test(s)) return undefined;
  return BigInt(s).toString(16);
}

/** Hex digits (any case) → decimal without leading zeros; undefined when not hex. */
export function hexToDec(id: string): string | undefined {
  const s = normaliseId(id);
  if (!HEX_RE.test(s)) return undefined;
  return BigInt('0x' + s).toString(10);
}

/** The normalised keys to look up for a receipt id, in the order to try them. */
export function candidateIds(receiptId: string, mode: DlrIdMode): string[] {
  const id = normaliseId(receiptId);
  if (id === '') return [];
  const out: string[] = [];
  const push = (k: string | undefined): void => {
    if (k !== undefined && !out.includes(k)) out.push(k);
  };
  switch (mode) {
    case 'as_is':
      push(id);
      break;
    case 'hex_to_dec':
      push(decToHex(id));
      break;
    case 'dec_to_hex':
      push(hexToDec(id));
      break;
    case 'auto':
      push(id);
      push(hexToDec(id));
      push(decToHex(id));
      break;
  }
  return out;
}

/** Try each candidate in order; the first the lookup knows wins, with the key that matched. */
export function matchReceiptKey<T>(
  receiptId: string,
  mode: DlrIdMode,
  lookup: (key: string) => T | undefined,
): { key: string; value: T } | undefined {
  for (const key of candidateIds(receiptId, mode)) {
    const value = lookup(key);
    if (value !== undefined) return { key, value };
  }
  return undefined;
}

export function matchReceipt<T>(
  receiptId: string,
  mode: DlrIdMode,
  lookup: (key: string) => T | undefined,
): T | undefined {
  return matchReceiptKey(receiptId, mode, lookup)?.value;
}
