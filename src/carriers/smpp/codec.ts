/**
 * PDU codec. Encoding of ordinary PDUs goes through node-smpp's `PDU` class; submit_sm
 * (the hot path) and the message_id responses have hand-written encoders whose bytes
 * are tested against node-smpp's. Decoding is ours: a strict walk over node-smpp's
 * definition tables that keeps short_message and message_payload as raw Buffers (its
 * own decoder turns them into text by guessing the charset, and reads past the end of
 * a malformed body instead of refusing it).
 */
import smpp from 'smpp';
import type { SmppFieldType } from 'smpp';
import { Status } from './command-status.js';
import { DecodeError, SmppError } from './errors.js';
import { HEADER_LENGTH } from './framing.js';

export const CommandId = {
  generic_nack: 0x80000000,
  bind_receiver: 0x00000001,
  bind_receiver_resp: 0x80000001,
  bind_transmitter: 0x00000002,
  bind_transmitter_resp: 0x80000002,
  submit_sm: 0x00000004,
  submit_sm_resp: 0x80000004,
  deliver_sm: 0x00000005,
  deliver_sm_resp: 0x80000005,
  unbind: 0x00000006,
  unbind_resp: 0x80000006,
  bind_transceiver: 0x00000009,
  bind_transceiver_resp: 0x80000009,
  outbind: 0x0000000b,
  enquire_link: 0x00000015,
  enquire_link_resp: 0x80000015,
  alert_notification: 0x00000102,
} as const;

export const RESPONSE_BIT = 0x80000000;

export type FieldValue = number | string | Buffer | unknown[];

/** A decoded PDU. Field and TLV names are node-smpp's (SMPP spec names, snake_case). */
export interface Pdu {
  commandLength: number;
  commandId: number;
  /** Command name, or `unknown` for an id no table knows. */
  command: string;
  commandStatus: number;
  sequenceNumber: number;
  fields: Record<string, FieldValue>;
  /** Known TLVs by tag; unknown ones by `0x` + 4 hex digits, raw. */
  tlvs: Record<string, number | string | Buffer>;
}

export interface PduHeader {
  commandLength: number;
  commandId: number;
  commandStatus: number;
  sequenceNumber: number;
}

export function readHeader(buf: Buffer): PduHeader {
  return {
    commandLength: buf.readUInt32BE(0),
    commandId: buf.readUInt32BE(4),
    commandStatus: buf.readUInt32BE(8),
    sequenceNumber: buf.readUInt32BE(12),
  };
}

export function isResponseId(commandId: number): boolean {
  return (commandId & RESPONSE_BIT) !== 0;
}

/** Name of a command id (`unknown` if node-smpp does not define it). */
export function commandName(commandId: number): string {
  return smpp.commandsById[commandId]?.command ?? 'unknown';
}

/** Id of the response to a request id (submit_sm → submit_sm_resp), or undefined if none exists. */
export function responseIdFor(commandId: number): number | undefined {
  const name = commandName(commandId);
  if (name === 'unknown' || isResponseId(commandId)) return undefined;
  return smpp.commands[`${name}_resp`]?.id;
}

// ---- decoding ---------------------------------------------------------------------------

type Kind = 'u8' | 'u16' | 'u32' | 'cstr' | 'octets' | 'dests' | 'unsuccess';
interface FieldSpec {
  name: string;
  kind: Kind;
}

/** Longest C-octet string accepted (terminator included): generous, to catch garbage, not long addresses. */
const MAX_CSTRING = 65;

function kindOf(t: SmppFieldType): Kind {
  const ty = smpp.types;
  if (t === ty.int8) return 'u8';
  if (t === ty.int16) return 'u16';
  if (t === ty.int32) return 'u32';
  if (t === ty.cstring) return 'cstr';
  if (t === ty.buffer) return 'octets';
  if (t === ty.dest_address_array) return 'dests';
  if (t === ty.unsuccess_sme_array) return 'unsuccess';
  throw new Error('node-smpp field type not supported by the decoder');
}

const specs = new Map<number, FieldSpec[]>();
for (const def of Object.values(smpp.commands)) {
  const params = def.params ?? {};
  specs.set(
    def.id,
    Object.entries(params).map(([name, p]) => ({ name, kind: kindOf(p.type) })),
  );
}

class Reader {
  off: number;
  constructor(
    readonly buf: Buffer,
    readonly end: number,
    readonly head: PduHeader,
  ) {
    this.off = HEADER_LENGTH;
  }
  fail(msg: string, status: number = Status.ESME_RINVCMDLEN): never {
    throw new DecodeError(msg, status, this.head.commandId, this.head.sequenceNumber);
  }
  need(n: number, what: string, status?: number): void {
    if (this.off + n > this.end) this.fail(`${what} runs past the end of the PDU`, status);
  }
  u8(): number {
    this.need(1, 'integer');
    return this.buf[this.off++]!;
  }
  cstr(what: string): string {
    const limit = Math.min(this.end, this.off + MAX_CSTRING);
    const nul = this.buf.indexOf(0, this.off);
    if (nul < 0 || nul >= limit) this.fail(`${what}: C-octet string without terminator within ${MAX_CSTRING} octets`);
    const s = this.buf.toString('latin1', this.off, nul);
    this.off = nul + 1;
    return s;
  }
}

function readField(r: Reader, f: FieldSpec): FieldValue {
  switch (f.kind) {
    case 'u8':
      return r.u8();
    case 'u16':
      r.need(2, f.name);
      r.off += 2;
      return r.buf.readUInt16BE(r.off - 2);
    case 'u32':
      r.need(4, f.name);
      r.off += 4;
      return r.buf.readUInt32BE(r.off - 4);
    case 'cstr':
      return r.cstr(f.name);
    case 'octets': {
      const len = r.u8();
      r.need(len, `${f.name} (length ${len})`, Status.ESME_RINVMSGLEN);
      r.off += len;
      return r.buf.subarray(r.off - len, r.off);
    }
    case 'dests': {
      const n = r.u8();
      const out: unknown[] = [];
      for (let i = 0; i < n; i++) {
        const flag = r.u8();
        if (flag === 1) out.push({ dest_addr_ton: r.u8(), dest_addr_npi: r.u8(), destination_addr: r.cstr('dest') });
        else if (flag === 2) out.push({ dl_name: r.cstr('dl_name') });
        else r.fail(`bad dest_flag ${flag}`, Status.ESME_RSYSERR);
      }
      return out;
    }
    case 'unsuccess': {
      const n = r.u8();
      const out: unknown[] = [];
      for (let i = 0; i < n; i++) {
        const ton = r.u8();
        const npi = r.u8();
        const addr = r.cstr('unsuccess_sme');
        r.need(4, 'error_status_code');
        r.off += 4;
        out.push({ dest_addr_ton: ton, dest_addr_npi: npi, destination_addr: addr, error_status_code: r.buf.readUInt32BE(r.off - 4) });
      }
      return out;
    }
  }
}

const INT_TLV_SIZE = new Map<SmppFieldType, number>();
INT_TLV_SIZE.set(smpp.types.tlv.int8!, 1);
INT_TLV_SIZE.set(smpp.types.tlv.int16!, 2);
INT_TLV_SIZE.set(smpp.types.tlv.int32!, 4);

function readTlvs(r: Reader, tlvs: Pdu['tlvs']): void {
  while (r.off < r.end) {
    r.need(4, 'TLV header', Status.ESME_RINVTLVSTREAM);
    const tag = r.buf.readUInt16BE(r.off);
    const len = r.buf.readUInt16BE(r.off + 2);
    r.off += 4;
    r.need(len, `TLV 0x${tag.toString(16)} (length ${len})`, Status.ESME_RINVTLVSTREAM);
    const start = r.off;
    r.off += len;
    const def = smpp.tlvsById[tag];
    if (!def) {
      tlvs[`0x${tag.toString(16).padStart(4, '0')}`] = r.buf.subarray(start, r.off);
      continue;
    }
    const intSize = INT_TLV_SIZE.get(def.type);
    if (intSize !== undefined) {
      if (len !== intSize) r.fail(`TLV ${def.tag}: length ${len}, expected ${intSize}`, 0xc2 /* ESME_RINVTLVLEN */);
      tlvs[def.tag] = len === 1 ? r.buf[start]! : len === 2 ? r.buf.readUInt16BE(start) : r.buf.readUInt32BE(start);
    } else if (def.type === smpp.types.tlv.cstring) {
      // Tolerate a missing terminator inside a TLV: its length already bounds it.
      const nul = r.buf.indexOf(0, start);
      tlvs[def.tag] = r.buf.toString('latin1', start, nul >= start && nul < r.off ? nul : r.off);
    } else if (def.type === smpp.types.tlv.string) {
      tlvs[def.tag] = r.buf.toString('latin1', start, r.off);
    } else {
      tlvs[def.tag] = r.buf.subarray(start, r.off);
    }
  }
}

/**
 * Decode one whole PDU (as cut by PduFramer). Throws DecodeError (with the status to
 * answer it with) when the body is malformed. A response may stop at a field boundary
 * (SMSCs omit the body of an error resp); a request must carry every mandatory field.
 * Buffers in the result are views of `buf`: copy them to keep them.
 */
export function decodePdu(buf: Buffer): Pdu {
  const head = readHeader(buf);
  const command = commandName(head.commandId);
  // Built field by field: an object spread here costs more than the whole decode.
  const pdu: Pdu = {
    commandLength: head.commandLength,
    commandId: head.commandId,
    command,
    commandStatus: head.commandStatus,
    sequenceNumber: head.sequenceNumber,
    fields: {},
    tlvs: {},
  };
  if (command === 'unknown') return pdu;
  const end = Math.min(head.commandLength, buf.length);
  const r = new Reader(buf, end, head);
  const resp = isResponseId(head.commandId);
  for (const f of specs.get(head.commandId) ?? []) {
    if (resp && r.off >= end) return pdu;
    pdu.fields[f.name] = readField(r, f);
  }
  readTlvs(r, pdu.tlvs);
  return pdu;
}

// ---- encoding -----------------------------------------------------------------------------

/**
 * Encode any PDU with node-smpp. `fields` uses SMPP names; pass short_message and
 * message_payload as Buffers and data_coding explicitly, so node-smpp sends the bytes as
 * they are (a Buffer bypasses its text encoder and leaves esm_class alone).
 * A non-zero status gives a header-only PDU (SMPP 3.4: error resps carry no body).
 */
export function encodePdu(command: string, sequenceNumber: number, fields: Record<string, unknown> = {}, commandStatus = 0): Buffer {
  const sm = fields['short_message'];
  if (Buffer.isBuffer(sm) && sm.length > 254) {
    throw new SmppError('smpp_encode', `short_message is ${sm.length} octets; at most 254 (use message_payload)`);
  }
  try {
    return new smpp.PDU(command, { ...fields, sequence_number: sequenceNumber, command_status: commandStatus }).toBuffer();
  } catch (e) {
    throw new SmppError('smpp_encode', `cannot encode ${command}: ${(e as Error).message}`);
  }
}

export { encodeHeader, encodeMessageIdResp, encodeShortMessagePdu, encodeSubmitSm, type SubmitSmFields } from './encode-sm.js';

/** Field accessors for decoded PDUs (absent or wrong-typed fields give the empty value). */
export function fieldStr(p: Pdu, name: string): string {
  const v = p.fields[name];
  return typeof v === 'string' ? v : '';
}
export function fieldNum(p: Pdu, name: string): number {
  const v = p.fields[name];
  return typeof v === 'number' ? v : 0;
}
export function fieldBuf(p: Pdu, name: string): Buffer {
  const v = p.fields[name];
  return Buffer.isBuffer(v) ? v : Buffer.alloc(0);
}
