/**
 * Hand-written encoders for the PDUs sent per message (submit_sm, deliver_sm receipts in the
 * simulator, the resps, header-only PDUs): one allocation each, the same bytes as
 * node-smpp's (tested byte for byte), pure functions.
 */
import { CommandId } from './codec.js';
import { HEADER_LENGTH } from './framing.js';
import { SmppError } from './errors.js';

/** A header-only PDU (enquire_link, unbind, their resps, generic_nack, error resps). */
export function encodeHeader(commandId: number, commandStatus: number, sequenceNumber: number): Buffer {
  const b = Buffer.allocUnsafe(HEADER_LENGTH);
  b.writeUInt32BE(HEADER_LENGTH, 0);
  b.writeUInt32BE(commandId >>> 0, 4);
  b.writeUInt32BE(commandStatus >>> 0, 8);
  b.writeUInt32BE(sequenceNumber >>> 0, 12);
  return b;
}

/** submit_sm_resp / deliver_sm_resp / data_sm_resp: header plus message_id (header only on error). */
export function encodeMessageIdResp(commandId: number, commandStatus: number, sequenceNumber: number, messageId = ''): Buffer {
  if (commandStatus !== 0) return encodeHeader(commandId, commandStatus, sequenceNumber);
  const idLen = Buffer.byteLength(messageId, 'latin1');
  const b = Buffer.allocUnsafe(HEADER_LENGTH + idLen + 1);
  b.writeUInt32BE(b.length, 0);
  b.writeUInt32BE(commandId >>> 0, 4);
  b.writeUInt32BE(0, 8);
  b.writeUInt32BE(sequenceNumber >>> 0, 12);
  b.write(messageId, HEADER_LENGTH, 'latin1');
  b[HEADER_LENGTH + idLen] = 0;
  return b;
}

/** The submit_sm fields xinge sets; the rest are zero / empty (service_type, protocol_id, priority, schedule). */
export interface SubmitSmFields {
  serviceType?: string;
  sourceAddrTon: number;
  sourceAddrNpi: number;
  sourceAddr: string;
  destAddrTon: number;
  destAddrNpi: number;
  destinationAddr: string;
  esmClass: number;
  protocolId?: number;
  priorityFlag?: number;
  registeredDelivery: number;
  /** SMPP time (16 characters, relative `…R` or absolute); absent or '' = the SMSC's default. */
  validityPeriod?: string;
  dataCoding: number;
  shortMessage: Buffer;
  messagePayload?: Buffer;
  sarMsgRefNum?: number;
  sarTotalSegments?: number;
  sarSegmentSeqnum?: number;
  /** deliver_sm receipts: the receipted_message_id and message_state TLVs. */
  receiptedMessageId?: string;
  messageState?: number;
}

const TLV_MESSAGE_PAYLOAD = 0x0424;
const TLV_SAR_MSG_REF_NUM = 0x020c;
const TLV_SAR_TOTAL_SEGMENTS = 0x020e;
const TLV_SAR_SEGMENT_SEQNUM = 0x020f;
const TLV_RECEIPTED_MESSAGE_ID = 0x001e;
const TLV_MESSAGE_STATE = 0x0427;

function checkAddr(what: string, s: string, max: number): number {
  const n = Buffer.byteLength(s, 'latin1');
  if (n > max) throw new SmppError('smpp_encode', `${what} is ${n} characters; at most ${max}`);
  return n;
}

/**
 * Hand-written submit_sm encoder (the hot PDU): same bytes as node-smpp's, one
 * allocation, no per-field dispatch. short_message goes out exactly as given.
 */
export function encodeSubmitSm(sequenceNumber: number, f: SubmitSmFields): Buffer {
  return encodeShortMessagePdu(CommandId.submit_sm, sequenceNumber, f);
}

/**
 * submit_sm or deliver_sm (SMPP 3.4 gives both the same mandatory fields; deliver_sm leaves
 * the schedule and validity empty). The simulator sends its receipts with it.
 */
export function encodeShortMessagePdu(commandId: number, sequenceNumber: number, f: SubmitSmFields): Buffer {
  const sm = f.shortMessage;
  if (sm.length > 254) throw new SmppError('smpp_encode', `short_message is ${sm.length} octets; at most 254 (use message_payload)`);
  const st = f.serviceType ?? '';
  const stLen = checkAddr('service_type', st, 5);
  const srcLen = checkAddr('source_addr', f.sourceAddr, 20);
  const dstLen = checkAddr('destination_addr', f.destinationAddr, 20);
  const mp = f.messagePayload;
  if (mp !== undefined && mp.length > 0xffff) throw new SmppError('smpp_encode', `message_payload is ${mp.length} octets; at most 65535`);
  const sar = f.sarMsgRefNum !== undefined && f.sarTotalSegments !== undefined && f.sarSegmentSeqnum !== undefined;
  const vp = f.validityPeriod ?? '';
  if (vp !== '' && !/^\d{12}\d\d\d[+\-R]$/.test(vp)) throw new SmppError('smpp_encode', 'validity_period must be 16 characters of SMPP time format');
  const rid = f.receiptedMessageId;
  const ridLen = rid === undefined ? 0 : checkAddr('receipted_message_id', rid, 64);
  const len =
    HEADER_LENGTH + stLen + 1 + 2 + srcLen + 1 + 2 + dstLen + 1 + 3 + 1 + vp.length + 1 + 1 + 2 + 1 + 1 + sm.length +
    (mp !== undefined ? 4 + mp.length : 0) +
    (sar ? 6 + 5 + 5 : 0) +
    (rid !== undefined ? 4 + ridLen + 1 : 0) +
    (f.messageState !== undefined ? 5 : 0);
  const b = Buffer.allocUnsafe(len);
  b.writeUInt32BE(len, 0);
  b.writeUInt32BE(commandId >>> 0, 4);
  b.writeUInt32BE(0, 8);
  b.writeUInt32BE(sequenceNumber >>> 0, 12);
  let o = HEADER_LENGTH;
  o += b.write(st, o, 'latin1');
  b[o++] = 0;
  b[o++] = f.sourceAddrTon;
  b[o++] = f.sourceAddrNpi;
  o += b.write(f.sourceAddr, o, 'latin1');
  b[o++] = 0;
  b[o++] = f.destAddrTon;
  b[o++] = f.destAddrNpi;
  o += b.write(f.destinationAddr, o, 'latin1');
  b[o++] = 0;
  b[o++] = f.esmClass;
  b[o++] = f.protocolId ?? 0;
  b[o++] = f.priorityFlag ?? 0;
  b[o++] = 0; // schedule_delivery_time: immediate
  o += b.write(vp, o, 'latin1'); // validity_period ('' = the SMSC default)
  b[o++] = 0;
  b[o++] = f.registeredDelivery;
  b[o++] = 0; // replace_if_present_flag
  b[o++] = f.dataCoding;
  b[o++] = 0; // sm_default_msg_id
  b[o++] = sm.length;
  o += sm.copy(b, o);
  if (mp !== undefined) {
    b.writeUInt16BE(TLV_MESSAGE_PAYLOAD, o);
    b.writeUInt16BE(mp.length, o + 2);
    o += 4;
    o += mp.copy(b, o);
  }
  if (sar) {
    b.writeUInt16BE(TLV_SAR_MSG_REF_NUM, o);
    b.writeUInt16BE(2, o + 2);
    b.writeUInt16BE(f.sarMsgRefNum!, o + 4);
    b.writeUInt16BE(TLV_SAR_TOTAL_SEGMENTS, o + 6);
    b.writeUInt16BE(1, o + 8);
    b[o + 10] = f.sarTotalSegments!;
    b.writeUInt16BE(TLV_SAR_SEGMENT_SEQNUM, o + 11);
    b.writeUInt16BE(1, o + 13);
    b[o + 15] = f.sarSegmentSeqnum!;
    o += 16;
  }
  if (rid !== undefined) {
    b.writeUInt16BE(TLV_RECEIPTED_MESSAGE_ID, o);
    b.writeUInt16BE(ridLen + 1, o + 2);
    o += 4;
    o += b.write(rid, o, 'latin1');
    b[o++] = 0;
  }
  if (f.messageState !== undefined) {
    b.writeUInt16BE(TLV_MESSAGE_STATE, o);
    b.writeUInt16BE(1, o + 2);
    b[o + 4] = f.messageState;
    o += 5;
  }
  return b;
}
