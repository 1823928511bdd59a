/**
 * Delivery-receipt parsing (SPEC 7). Pure: no I/O, no logging.
 *
 * A receipt carries its facts twice, and carriers fill either, both or neither:
 * - TLVs: `receipted_message_id`, `message_state`, `network_error_code`;
 * - the short_message text of SMPP 3.4 Appendix B:
 *   `id:IIII sub:SSS dlvrd:DDD submit date:YYMMDDhhmm done date:YYMMDDhhmm stat:DDDDDDD err:E text:...`
 *
 * Both are read and merged. Chinese SMSCs (CMPP/SGIP bridges) often put the real cause
 * in the text (`stat:MK:0005`, `stat:DB:0141`, `err:...`) even when the TLVs are present,
 * so the text's stat is kept as written in `rawStat` whatever the TLV says.
 *
 * Privacy: `text` holds the first characters of the subscriber's message. Never log it.
 */

/** The normalised receipt stat words (SMPP 3.4 Appendix B). */
export const RECEIPT_STATS = [
  'DELIVRD',
  'UNDELIV',
  'EXPIRED',
  'DELETED',
  'REJECTD',
  'UNKNOWN',
  'ACCEPTD',
  'ENROUTE',
] as const;
export type ReceiptStat = (typeof RECEIPT_STATS)[number];

/**
 * message_state TLV values, SMPP 3.4 §5.2.28:
 * 1 ENROUTE, 2 DELIVERED, 3 EXPIRED, 4 DELETED, 5 UNDELIVERABLE, 6 ACCEPTED, 7 UNKNOWN, 8 REJECTED.
 * (0 SCHEDULED and 9 SKIPPED are SMPP 5.0 only and are not receipts of a final state: ignored.)
 */
export const MESSAGE_STATE_TO_STAT: Readonly<Record<number, ReceiptStat>> = {
  1: 'ENROUTE',
  2: 'DELIVRD',
  3: 'EXPIRED',
  4: 'DELETED',
  5: 'UNDELIV',
  6: 'ACCEPTD',
  7: 'UNKNOWN',
  8: 'REJECTD',
};

/** Spellings seen in the wild for each stat word (compared upper-cased, without separators). */
const STAT_VARIANTS: ReadonlyMap<string, ReceiptStat> = new Map(Object.entries({
  DELIVRD: 'DELIVRD',
  DELIVERED: 'DELIVRD',
  DELIVERD: 'DELIVRD',
  DELIVRED: 'DELIVRD',
  DELIVR: 'DELIVRD',
  UNDELIV: 'UNDELIV',
  UNDELIVERABLE: 'UNDELIV',
  UNDELIVERED: 'UNDELIV',
  UNDELIVRD: 'UNDELIV',
  UNDELIVERD: 'UNDELIV',
  EXPIRED: 'EXPIRED',
  EXPIRD: 'EXPIRED',
  DELETED: 'DELETED',
  DELETD: 'DELETED',
  REJECTD: 'REJECTD',
  REJECTED: 'REJECTD',
  REJECT: 'REJECTD',
  UNKNOWN: 'UNKNOWN',
  UNKNOW: 'UNKNOWN',
  ACCEPTD: 'ACCEPTD',
  ACCEPTED: 'ACCEPTD',
  ENROUTE: 'ENROUTE',
}) as Array<[string, ReceiptStat]>);

/**
 * Normalise a stat word as written in a receipt text.
 * - a standard word or a known variant (`DELIVERED`, `delivrd`, `UNDELIVERABLE`, `En_Route`) → that word;
 * - a vendor code (`MK:0005`, `DB:0141`, `MA:0001`, `MI:0029`, `ID:0012`, `CA:0054`, `MN:0001`,
 *   or any other `LETTERS:CODE`) → `UNDELIV`;
 * - any other non-numeric word (`BLACK`, `NOROUTE`, `ERRNUM`, `FAILED`) → `UNDELIV`;
 * - empty, missing or purely numeric → `UNKNOWN`.
 *
 * Why vendor codes are UNDELIV: CMPP and SGIP gateways (and the SMPP bridges in front of
 * them) report success only as `DELIVRD`; every other value of the 7-octet CMPP `Stat` field
 * is the operator's failure code for that message (MK = switch/MSC errors, DB = subscriber
 * database errors, MA/MI/MN = MSC/HLR errors, ID/CA = SMSC/gateway refusals, ...). They are
 * final failures of delivery to the handset: "undeliverable", with the code kept in `rawStat`.
 * A bare number is not classified: no convention makes it a failure, so it stays `UNKNOWN`.
 */
export function normaliseStat(raw: string | undefined): ReceiptStat {
  if (raw === undefined) return 'UNKNOWN';
  const s = raw.trim();
  if (s === '') return 'UNKNOWN';
  // Nearly every receipt says DELIVRD (or another word as the standard writes it).
  const exact = STAT_VARIANTS.get(s);
  if (exact !== undefined) return exact;
  const word = s.toUpperCase().replace(/[\s_-]/g, '');
  const known = STAT_VARIANTS.get(word);
  if (known !== undefined) return known;
  if (isVendorCode(s)) return 'UNDELIV';
  if (/^\d+$/.test(s)) return 'UNKNOWN';
  return 'UNDELIV';
}

/** `MK:0005`, `db:0141`, `ID:0012`, `SGIP:13` — letters, a colon, an alphanumeric code. */
export function isVendorCode(raw: string | undefined): boolean {
  return raw !== undefined && /^[A-Za-z]{1,6}:[A-Za-z0-9]+$/.test(raw.trim());
}

export interface NetworkError {
  /** network_error_code octet 1: 1 ANSI-136, 2 IS-95, 3 GSM, 4 reserved, ... */
  type: number;
  /** octets 2-3, big-endian. */
  code: number;
}

export interface Receipt {
  /** The carrier's message id: the `receipted_message_id` TLV if non-empty, else the text's `id:`. As written (not normalised). */
  id?: string;
  /** Normalised stat: from the `message_state` TLV when present and valid, else from the text. */
  stat: ReceiptStat;
  /** The text's stat as written, e.g. `DELIVRD`, `MK:0005`. Undefined when the text has no stat. */
  rawStat?: string;
  /** The text's stat normalised (also when the TLV decided `stat`). */
  textStat?: ReceiptStat;
  /** The message_state TLV normalised, when present and in 1..8. */
  tlvStat?: ReceiptStat;
  /** True when the TLV and the text both name a stat and they disagree (e.g. TLV DELIVERED, text `MK:0005`). */
  conflict: boolean;
  /** The text's `err:` as written (`000`, `0005`, `DB:0141`). */
  err?: string;
  /** network_error_code TLV (3 octets). */
  networkError?: NetworkError;
  /** `submit date:` digits as written (10, 12 or 14 digits). */
  submitDate?: string;
  /** `submit date` as epoch ms, read in the SMSC's offset (see ParseReceiptOptions). */
  submitAt?: number;
  doneDate?: string;
  doneAt?: number;
  /** `sub:` and `dlvrd:` as written (`001`). */
  sub?: string;
  dlvrd?: string;
  /** `text:` — the start of the subscriber's message. PERSONAL DATA: never log. */
  text?: string;
}

export interface ReceiptInput {
  shortMessage: Buffer | string;
  tlvs: {
    receiptedMessageId?: string;
    messageState?: number;
    networkErrorCode?: Buffer;
    /** Used when short_message is empty (some SMSCs put the receipt text in message_payload). */
    messagePayload?: Buffer;
  };
}

export interface ParseReceiptOptions {
  /**
   * UTC offset of the SMSC's clock, in minutes, for `submitAt`/`doneAt`. Receipt dates carry
   * no zone; Chinese SMSCs write Beijing time, so the default is +480 (UTC+8).
   */
  tzOffsetMinutes?: number;
}

const KEY_RE = /(^|[\s,;])(submit[ _]?date|done[ _]?date|dlvrd|sub|stat|err|text|id)\s*:/gi;

const FIRST_TOKEN = /\S+/;
/** The first whitespace-delimited token of a value, without trailing separators (`id:123,sub:001`). */
export function firstToken(value: string): string {
  const tok = FIRST_TOKEN.exec(value)?.[0] ?? '';
  const c = tok.charCodeAt(tok.length - 1);
  return c === 44 || c === 59 ? tok.replace(/[,;]+$/, '') : tok;
}

type Key = 'id' | 'sub' | 'dlvrd' | 'submit date' | 'done date' | 'stat' | 'err' | 'text';

function canonicalKey(k: string): Key {
  const l = k.toLowerCase();
  if (l.startsWith('submit')) return 'submit date';
  if (l.startsWith('done')) return 'done date';
  return l as Key;
}

/**
 * Split receipt text into its fields. Tolerant of case, order, missing and extra fields
 * (`smsc:x`, `Text:`), and of values with colons (`stat:MK:0005`, `err:DB:0141`).
 * Non-text values are the first whitespace-delimited token after the colon, so unknown
 * extra fields never leak into them. `text:` runs to the end of the string (it is the last
 * field in the standard and can hold anything, including `stat:`), except when a field not
 * yet seen follows it (a receipt that puts `text:` early).
 */
export function parseReceiptText(s: string): Partial<Record<Key, string>> {
  return parseCanonical(s) ?? parseReceiptTextGeneral(s);
}

/**
 * The Appendix B layout exactly as nearly every SMSC writes it (lower-case keys in order,
 * single spaces): one anchored match instead of a key scan, a receipt per message under
 * load. Values hold no whitespace, `,` or `;`, so they are what the general parser's first
 * token would be; anything else falls through to it. A property test holds the two equal.
 */
const CANONICAL =
  /^id:([^\s,;]+) sub:([^\s,;]+) dlvrd:([^\s,;]+) submit date:([^\s,;]+) done date:([^\s,;]+) stat:([^\s,;]+) err:([^\s,;]+)(?: text:([\s\S]*))?$/;

function parseCanonical(s: string): Partial<Record<Key, string>> | undefined {
  const m = CANONICAL.exec(s);
  if (m === null) return undefined;
  const out: Partial<Record<Key, string>> = {
    id: m[1]!, sub: m[2]!, dlvrd: m[3]!, 'submit date': m[4]!, 'done date': m[5]!, stat: m[6]!, err: m[7]!,
  };
  if (m[8] !== undefined) out.text = m[8].trim();
  return out;
}

/** parseReceiptText without the canonical fast path (exported for the property test). */
export function parseReceiptTextGeneral(s: string): Partial<Record<Key, string>> {
  const found: Array<{ key: Key; keyStart: number; valueStart: number }> = [];
  const seen = new Set<Key>();
  KEY_RE.lastIndex = 0;
  for (let m = KEY_RE.exec(s); m !== null; m = KEY_RE.exec(s)) {
    const key = canonicalKey(m[2]!);
    // A key already seen is part of a value (e.g. `stat: ID:0012` after `id:`), not a new field.
    if (seen.has(key)) continue;
    seen.add(key);
    found.push({ key, keyStart: m.index + m[1]!.length, valueStart: m.index + m[0].length });
  }
  const out: Partial<Record<Key, string>> = {};
  for (let i = 0; i < found.length; i++) {
    const f = found[i]!;
    const end = i + 1 < found.length ? found[i + 1]!.keyStart : s.length;
    const value = s.slice(f.valueStart, end);
    if (f.key === 'text') {
      out.text = value.trim();
    } else {
      // `id:123,sub:001`: a separator before the next key is not part of the value.
      out[f.key] = firstToken(value);
    }
  }
  return out;
}

/**
 * Receipt date: YYMMDDhhmm (10), YYMMDDhhmmss (12) or YYYYMMDDhhmmss (14) digits, in the
 * SMSC's local time at `tzOffsetMinutes` from UTC. Returns epoch ms, or undefined when it is
 * not a valid date (the digits as written stay in the Receipt).
 */
export function parseReceiptDate(raw: string | undefined, tzOffsetMinutes = 480): number | undefined {
  if (raw === undefined) return undefined;
  const d = raw.trim();
  let y: number, rest: string;
  if (/^\d{10}$|^\d{12}$/.test(d)) {
    y = 2000 + Number(d.slice(0, 2));
    rest = d.slice(2);
  } else if (/^\d{14}$/.test(d)) {
    y = Number(d.slice(0, 4));
    rest = d.slice(4);
  } else {
    return undefined;
  }
  const mo = Number(rest.slice(0, 2));
  const da = Number(rest.slice(2, 4));
  const hh = Number(rest.slice(4, 6));
  const mi = Number(rest.slice(6, 8));
  const ss = rest.length >= 10 ? Number(rest.slice(8, 10)) : 0;
  if (mo < 1 || mo > 12 || da < 1 || da > 31 || hh > 23 || mi > 59 || ss > 59) return undefined;
  const utc = Date.UTC(y, mo - 1, da, hh, mi, ss);
  // Reject 31 Feb and the like (Date.UTC rolls over).
  if (new Date(utc).getUTCDate() !== da) return undefined;
  return utc - tzOffsetMinutes * 60_000;
}

function decodeText(b: Buffer | string | undefined): string {
  if (b === undefined) return '';
  // Receipt text is ASCII; latin1 never throws and maps bytes 1:1. NULs (C-string padding) go.
  const s = typeof b === 'string' ? b : b.toString('latin1');
  return s.includes('\0') ? s.replace(/\0/g, '') : s;
}

function readNetworkError(b: Buffer | undefined): NetworkError | undefined {
  if (b === undefined || b.length < 3) return undefined;
  return { type: b.readUInt8(0), code: b.readUInt16BE(1) };
}

/** Parse one delivery receipt from its text and TLVs. Never throws on odd input. */
export function parseReceipt(input: ReceiptInput, opts: ParseReceiptOptions = {}): Receipt {
  const tz = opts.tzOffsetMinutes ?? 480;
  let text = decodeText(input.shortMessage);
  if (text.trim() === '' && input.tlvs.messagePayload !== undefined) text = decodeText(input.tlvs.messagePayload);
  const f = parseReceiptText(text);

  const tlvState = input.tlvs.messageState;
  const tlvStat = tlvState !== undefined ? MESSAGE_STATE_TO_STAT[tlvState] : undefined;
  const rawStat = f.stat !== undefined && f.stat !== '' ? f.stat : undefined;
  const textStat = rawStat !== undefined ? normaliseStat(rawStat) : undefined;

  const tlvId = input.tlvs.receiptedMessageId?.replace(/\0/g, '').trim();
  const textId = f.id !== undefined && f.id !== '' ? f.id : undefined;

  const r: Receipt = {
    stat: tlvStat ?? textStat ?? 'UNKNOWN',
    conflict: tlvStat !== undefined && textStat !== undefined && tlvStat !== textStat,
  };
  const id = tlvId !== undefined && tlvId !== '' ? tlvId : textId;
  if (id !== undefined) r.id = id;
  if (rawStat !== undefined) r.rawStat = rawStat;
  if (textStat !== undefined) r.textStat = textStat;
  if (tlvStat !== undefined) r.tlvStat = tlvStat;
  if (f.err !== undefined && f.err !== '') r.err = f.err;
  const ne = readNetworkError(input.tlvs.networkErrorCode);
  if (ne !== undefined) r.networkError = ne;
  if (f['submit date'] !== undefined && f['submit date'] !== '') {
    r.submitDate = f['submit date'];
    const at = parseReceiptDate(r.submitDate, tz);
    if (at !== undefined) r.submitAt = at;
  }
  if (f['done date'] !== undefined && f['done date'] !== '') {
    r.doneDate = f['done date'];
    const at = parseReceiptDate(r.doneDate, tz);
    if (at !== undefined) r.doneAt = at;
  }
  if (f.sub !== undefined && f.sub !== '') r.sub = f.sub;
  if (f.dlvrd !== undefined && f.dlvrd !== '') r.dlvrd = f.dlvrd;
  if (f.text !== undefined) r.text = f.text;
  return r;
}
