/**
 * The simulated handsets (issue 15.9, 20.4): what each phone received, as a handset shows it
 * (the parts of a concatenated message joined, the text decoded per data_coding, the
 * receipt the SMSC returned), and the replies each phone sent. Read from the simulator's
 * recorder on demand; pure apart from the reply log it keeps.
 */
import { decodeIncoming } from '../encoding/decoder.js';
import type { RecordedSubmit } from './recorder.js';

export interface HandsetMessage {
  kind: 'sms';
  direction: 'in';
  /** The sender as the phone shows it (the carrier's service code plus extension). */
  from: string;
  to: string;
  text: string;
  /** Parts received / parts the message has. */
  parts: number;
  parts_total: number;
  data_coding: number;
  received_at: string;
  /** The receipt the SMSC sent (the worst over the parts), `pending`, or `none` when none was asked for. */
  receipt: string;
}

export interface HandsetReply {
  direction: 'out';
  from: string;
  to: string;
  text: string;
  sent_at: string;
}

/** A number as a handset knows it: digits, with 86 before a bare 11-digit Chinese mobile number. */
export function phoneKey(raw: string): string {
  const d = raw.replace(/\D/g, '');
  return /^1[3-9]\d{9}$/.test(d) ? `86${d}` : d;
}

const RECEIPT_ORDER = ['REJECTD', 'UNDELIV', 'DELETED', 'EXPIRED', 'UNKNOWN', 'ENROUTE', 'ACCEPTD', 'DELIVRD'];

function worstReceipt(stats: Array<string | undefined>, asked: boolean): string {
  if (!asked) return 'none';
  const known = stats.filter((s): s is string => s !== undefined);
  if (known.length === 0) return 'pending';
  return known.sort((a, b) => RECEIPT_ORDER.indexOf(a) - RECEIPT_ORDER.indexOf(b))[0]!;
}

interface Part {
  seq: number;
  text: string;
  sub: RecordedSubmit;
}

function sar(tlvs: RecordedSubmit['tlvs']): { msgRefNum: number; totalSegments: number; segmentSeqnum: number } | undefined {
  const ref = tlvs['sar_msg_ref_num'];
  const total = tlvs['sar_total_segments'];
  const seq = tlvs['sar_segment_seqnum'];
  return typeof ref === 'number' && typeof total === 'number' && typeof seq === 'number' ? { msgRefNum: ref, totalSegments: total, segmentSeqnum: seq } : undefined;
}

/** Accepted submits to `phone` (a phoneKey), parts joined, oldest first. */
export function messagesTo(submits: readonly RecordedSubmit[], phone: string): HandsetMessage[] {
  const out: Array<{ at: number; parts: Part[]; total: number; sub: RecordedSubmit }> = [];
  const open = new Map<string, (typeof out)[number]>();
  for (const sub of submits) {
    // Only what the SMSC accepted reaches a phone.
    if (sub.status !== 0 || phoneKey(sub.destination) !== phone) continue;
    const payload = sub.tlvs['message_payload'];
    const sarInfo = sar(sub.tlvs);
    let decoded: ReturnType<typeof decodeIncoming>;
    try {
      decoded = decodeIncoming({
        shortMessage: sub.shortMessage,
        esmClass: sub.esmClass,
        dataCoding: sub.dataCoding,
        ...(Buffer.isBuffer(payload) ? { messagePayload: payload } : {}),
        ...(sarInfo ? { sar: sarInfo } : {}),
      });
    } catch {
      decoded = { text: sub.shortMessage.toString('hex') };
    }
    const c = decoded.concat;
    if (c === undefined || c.total <= 1) {
      out.push({ at: sub.time, parts: [{ seq: 1, text: decoded.text, sub }], total: 1, sub });
      continue;
    }
    const key = `${sub.source}|${c.ref}|${c.total}`;
    let m = open.get(key);
    // A part already held under this reference starts a new message (references wrap).
    if (m === undefined || m.parts.some((p) => p.seq === c.seq)) {
      m = { at: sub.time, parts: [], total: c.total, sub };
      open.set(key, m);
      out.push(m);
    }
    m.parts.push({ seq: c.seq, text: decoded.text, sub });
    if (m.parts.length === m.total) open.delete(key);
  }
  return out.map((m) => {
    const parts = [...m.parts].sort((a, b) => a.seq - b.seq);
    return {
      kind: 'sms' as const,
      direction: 'in' as const,
      from: m.sub.source,
      to: m.sub.destination,
      text: parts.map((p) => p.text).join(''),
      parts: parts.length,
      parts_total: m.total,
      data_coding: m.sub.dataCoding,
      received_at: new Date(m.at).toISOString(),
      receipt: worstReceipt(
        parts.map((p) => p.sub.receipt?.stat),
        parts.some((p) => (p.sub.registeredDelivery & 0x03) !== 0),
      ),
    };
  });
}

/** Every phone that received something (SMS, and MMS given as phone and time), with its count and latest time, latest first. */
export function phones(
  submits: readonly RecordedSubmit[],
  replies: readonly HandsetReply[],
  mms: ReadonlyArray<{ phone: string; at: number }> = [],
): Array<{ number: string; received: number; last_at: string }> {
  const seen = new Map<string, { number: string; received: number; last: number }>();
  const touch = (number: string, at: number, received: number) => {
    const p = seen.get(number) ?? { number, received: 0, last: 0 };
    p.received += received;
    p.last = Math.max(p.last, at);
    seen.set(number, p);
  };
  for (const s of submits) if (s.status === 0) touch(phoneKey(s.destination), s.time, 0);
  for (const n of seen.keys()) seen.get(n)!.received = messagesTo(submits, n).length;
  for (const m of mms) touch(m.phone, m.at, 1);
  for (const r of replies) touch(phoneKey(r.from), Date.parse(r.sent_at), 0);
  return [...seen.values()].sort((a, b) => b.last - a.last).map((p) => ({ number: p.number, received: p.received, last_at: new Date(p.last).toISOString() }));
}

/** The replies a phone sent, kept for the page (newest last, bounded). */
export class ReplyLog {
  readonly #items: HandsetReply[] = [];
  constructor(private readonly limit = 1000) {}
  add(r: HandsetReply): void {
    this.#items.push(r);
    if (this.#items.length > this.limit) this.#items.shift();
  }
  all(): readonly HandsetReply[] {
    return this.#items;
  }
  from(phone: string): HandsetReply[] {
    return this.#items.filter((r) => phoneKey(r.from) === phone);
  }
}
