/**
 * Mobile-originated messages for injection: the text (or caller-supplied bytes, e.g.
 * GB18030 under data_coding 15) cut into deliver_sm parts, joined by an 8-bit-reference
 * UDH or by SAR TLVs, never splitting a character (UTF-16 surrogate pair, GSM escape,
 * GB18030 multi-octet sequence).
 */
import smpp from 'smpp';

export interface MoInput {
  from: string;
  to: string;
  /** Text, encoded per dataCoding (0 GSM 03.38 unpacked, 3 Latin-1, 8 UCS-2). */
  text?: string;
  /** Raw octets, sent as they are under dataCoding (e.g. GB18030 with 15). */
  bytes?: Buffer;
  /** Default: 0 if the text fits GSM 03.38, else 8; with bytes, 4 (binary) unless given. */
  dataCoding?: number;
  /** How to join parts when the message does not fit one; default udh8. */
  concat?: 'udh8' | 'sar';
  /** Which connection gets it (default: the first bound receiver or transceiver). */
  conn?: number;
}

export interface MoPart {
  shortMessage: Buffer;
  esmClass: number;
  dataCoding: number;
  tlvs: Record<string, number>;
}

const GSM_RE =
  /^[@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !"#¤%&'()*+,\-./0-9:;<=>?¡A-ZÄÖÑÜ§¿a-zäöñüà\f^{}\\[~\]|€]*$/;

function encodeText(text: string, dc: number): Buffer {
  if (dc === 0) return smpp.gsmCoder.encode(text, 0);
  if (dc === 3) return Buffer.from(text, 'latin1');
  if (dc === 8) return Buffer.from(text, 'utf16le').swap16();
  throw new RangeError(`text with data_coding ${dc}: pass bytes instead`);
}

/** Octet length of the character starting at `i` (so a part never ends inside one). */
function charLength(b: Buffer, i: number, dc: number): number {
  if (dc === 8) {
    const hi = b[i]!;
    return hi >= 0xd8 && hi <= 0xdb && i + 3 < b.length ? 4 : 2;
  }
  if (dc === 0) return b[i] === 0x1b && i + 1 < b.length ? 2 : 1;
  if (dc === 15) {
    const lead = b[i]!;
    if (lead < 0x81 || lead > 0xfe) return 1;
    const second = b[i + 1];
    return second !== undefined && second >= 0x30 && second <= 0x39 ? 4 : 2;
  }
  return 1;
}

function split(b: Buffer, max: number, dc: number): Buffer[] {
  const parts: Buffer[] = [];
  let start = 0;
  let i = 0;
  while (i < b.length) {
    const n = charLength(b, i, dc);
    if (i + n - start > max) {
      parts.push(b.subarray(start, i));
      start = i;
    }
    i += n;
  }
  parts.push(b.subarray(start));
  return parts;
}

/** Cut an MO into deliver_sm parts. `ref` is the concatenation reference (0–255 for udh8). */
export function buildMoParts(input: MoInput, ref: number): MoPart[] {
  let dc: number;
  let body: Buffer;
  if (input.bytes !== undefined) {
    dc = input.dataCoding ?? 4;
    body = input.bytes;
  } else {
    const text = input.text ?? '';
    dc = input.dataCoding ?? (GSM_RE.test(text) ? 0 : 8);
    body = encodeText(text, dc);
  }
  const single = dc === 0 ? 160 : 140;
  if (body.length <= single) return [{ shortMessage: body, esmClass: 0, dataCoding: dc, tlvs: {} }];
  const per = dc === 0 ? 153 : 134;
  const chunks = split(body, per, dc);
  const total = chunks.length;
  if (total > 255) throw new RangeError('MO too long: more than 255 parts');
  return chunks.map((c, i): MoPart => {
    if (input.concat === 'sar') {
      return {
        shortMessage: c,
        esmClass: 0,
        dataCoding: dc,
        tlvs: { sar_msg_ref_num: ref & 0xffff, sar_total_segments: total, sar_segment_seqnum: i + 1 },
      };
    }
    const udh = Buffer.from([0x05, 0x00, 0x03, ref & 0xff, total, i + 1]);
    return { shortMessage: Buffer.concat([udh, c]), esmClass: 0x40, dataCoding: dc, tlvs: {} };
  });
}
