/**
 * Delivery receipts as SMSCs send them: deliver_sm with esm_class 0x04, the text
 * `id:… sub:001 dlvrd:001 submit date:YYMMDDhhmm done date:YYMMDDhhmm stat:… err:… text:…`,
 * and the receipted_message_id / message_state TLVs. Also the message ids themselves
 * (decimal or hex, as large as 2^64) so id-mismatch modes can be played.
 */
export type ReceiptStat = 'DELIVRD' | 'UNDELIV' | 'EXPIRED' | 'REJECTD' | 'UNKNOWN' | 'DELETED' | 'ACCEPTD' | 'ENROUTE';
export type IdFormat = 'decimal' | 'hex' | 'hex-upper';

/** SMPP 3.4 §5.2.28 message_state for each stat word. */
export const MESSAGE_STATE: Record<ReceiptStat, number> = {
  ENROUTE: 1,
  DELIVRD: 2,
  EXPIRED: 3,
  DELETED: 4,
  UNDELIV: 5,
  ACCEPTD: 6,
  UNKNOWN: 7,
  REJECTD: 8,
};

/** The err: code the sim writes for each stat (000 when delivered). */
const ERR_CODE: Record<ReceiptStat, string> = {
  DELIVRD: '000',
  ENROUTE: '000',
  ACCEPTD: '000',
  UNDELIV: '001',
  EXPIRED: '002',
  DELETED: '003',
  REJECTD: '004',
  UNKNOWN: '005',
};

export function formatId(n: bigint, format: IdFormat): string {
  if (format === 'decimal') return n.toString(10);
  const hex = n.toString(16);
  return format === 'hex-upper' ? hex.toUpperCase() : hex;
}

/** A weighted random pick; weights need not sum to 1. Falls back to DELIVRD. */
export function pickOutcome(mix: Partial<Record<ReceiptStat, number>>, random: () => number = Math.random): ReceiptStat {
  const entries = Object.entries(mix).filter(([, w]) => (w ?? 0) > 0) as [ReceiptStat, number][];
  const total = entries.reduce((a, [, w]) => a + w, 0);
  if (total <= 0) return 'DELIVRD';
  let x = random() * total;
  for (const [stat, w] of entries) {
    x -= w;
    if (x < 0) return stat;
  }
  return entries[entries.length - 1]![0];
}

/** YYMMDDhhmm in UTC. */
export function receiptDate(d: Date): string {
  const p = (n: number): string => String(n).padStart(2, '0');
  return `${p(d.getUTCFullYear() % 100)}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}${p(d.getUTCHours())}${p(d.getUTCMinutes())}`;
}

export interface ReceiptTextInput {
  id: string;
  stat: ReceiptStat;
  submitted: Date;
  done: Date;
  /** First octets of the original short_message (the text: field), as latin1. */
  text: string;
}

export function receiptText(r: ReceiptTextInput): string {
  const dlvrd = r.stat === 'DELIVRD' ? '001' : '000';
  return `id:${r.id} sub:001 dlvrd:${dlvrd} submit date:${receiptDate(r.submitted)} done date:${receiptDate(r.done)} stat:${r.stat} err:${ERR_CODE[r.stat]} text:${r.text}`;
}

/**
 * Whether a submit_sm is the last part of its message (or not concatenated at all):
 * UDH IEI 0x00 (8-bit ref) or 0x08 (16-bit ref) when esm_class has UDHI, else SAR TLVs.
 */
export function isLastSegment(esmClass: number, shortMessage: Buffer, tlvs: Record<string, unknown>): boolean {
  if ((esmClass & 0x40) !== 0 && shortMessage.length > 0) {
    const udhl = shortMessage[0]!;
    let o = 1;
    while (o + 1 < 1 + udhl && o + 1 < shortMessage.length) {
      const iei = shortMessage[o]!;
      const len = shortMessage[o + 1]!;
      if (iei === 0x00 && len === 3) return shortMessage[o + 3] === shortMessage[o + 4];
      if (iei === 0x08 && len === 4) return shortMessage[o + 4] === shortMessage[o + 5];
      o += 2 + len;
    }
  }
  const total = tlvs['sar_total_segments'];
  const seq = tlvs['sar_segment_seqnum'];
  if (typeof total === 'number' && typeof seq === 'number') return seq === total;
  return true;
}
