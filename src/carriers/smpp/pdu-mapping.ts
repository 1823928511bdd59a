/**
 * From the connector's vocabulary to SMPP fields and back: an OutboundSegment becomes
 * submit_sm fields per the carrier's addressing; a deliver_sm becomes an InboundDeliver.
 * Pure functions.
 */
import { parsePhoneNumberFromString } from 'libphonenumber-js';
import type { CarrierConfig } from '../../config/schema.js';
import type { InboundDeliver, OutboundSegment } from '../connector.js';
import { fieldBuf, fieldNum, fieldStr, type Pdu, type SubmitSmFields } from './codec.js';
import { Status } from './command-status.js';
import { validityPeriodFor } from './validity.js';

export type DestFormat = CarrierConfig['dest']['format'];

const CN_MOBILE = /^861[3-9]\d{9}$/;

/**
 * `8613800138000` → e164 `+8613800138000`, international `8613800138000`,
 * national `13800138000` (the country code stripped).
 */
export function formatDestination(e164: string, format: DestFormat): string {
  const digits = e164.startsWith('+') ? e164.slice(1) : e164;
  if (format === 'e164') return `+${digits}`;
  if (format === 'international') return digits;
  if (CN_MOBILE.test(digits)) return digits.slice(2);
  const parsed = parsePhoneNumberFromString(`+${digits}`);
  return parsed ? String(parsed.nationalNumber) : digits;
}

/** submit_sm fields for one segment on this carrier; `nowMs` (wall time) anchors an absolute validity. */
export function submitFieldsFor(carrier: CarrierConfig, seg: OutboundSegment, nowMs: number = Date.now()): SubmitSmFields {
  const p = seg.part;
  const f: SubmitSmFields = {
    sourceAddrTon: carrier.source.ton,
    sourceAddrNpi: carrier.source.npi,
    sourceAddr: seg.from ?? carrier.source.addr,
    destAddrTon: carrier.dest.ton,
    destAddrNpi: carrier.dest.npi,
    destinationAddr: formatDestination(seg.to, carrier.dest.format),
    esmClass: p.esmClass,
    registeredDelivery: seg.registeredDelivery ? 1 : 0,
    dataCoding: p.dataCoding,
    shortMessage: p.shortMessage,
  };
  const vp = validityPeriodFor(carrier.validity, seg.validityMs, nowMs);
  if (vp !== '') f.validityPeriod = vp;
  if (p.messagePayload !== undefined) f.messagePayload = p.messagePayload;
  if (p.sar) {
    f.sarMsgRefNum = p.sar.msgRefNum;
    f.sarTotalSegments = p.sar.totalSegments;
    f.sarSegmentSeqnum = p.sar.segmentSeqnum;
  }
  return f;
}

/**
 * The command_status an SMSC would refuse these fields with, found before sending
 * (0 = sendable): a short_message over 254 octets, addresses over 20 characters.
 */
export function checkSubmitFields(f: SubmitSmFields): number {
  if (f.shortMessage.length > 254) return Status.ESME_RINVMSGLEN;
  if (f.messagePayload !== undefined && f.messagePayload.length > 0xffff) return Status.ESME_RINVMSGLEN;
  if (f.destinationAddr.length === 0 || f.destinationAddr.length > 20) return Status.ESME_RINVDSTADR;
  if (f.sourceAddr.length > 20) return 0x0a; // ESME_RINVSRCADR
  return 0;
}

/**
 * esm_class bits 5–2 mark what a deliver_sm is (SMPP 3.4 §5.2.12): 0001 SMSC delivery
 * receipt (0x04), 0010 SME delivery acknowledgement (0x08), 1000 intermediate delivery
 * notification (0x20). All three are receipts; anything else is a reply (MO).
 */
export function isReceiptEsmClass(esmClass: number): boolean {
  const t = esmClass & 0x3c;
  return t === 0x04 || t === 0x08 || t === 0x20;
}

/** A decoded deliver_sm as the connector event. Buffers are copied (the PDU's view goes away). */
export function toInboundDeliver(carrierId: string, bindIndex: number, pdu: Pdu, ack: (status?: number) => void): InboundDeliver {
  const t = pdu.tlvs;
  const esmClass = fieldNum(pdu, 'esm_class');
  const tlvs: InboundDeliver['tlvs'] = {};
  if (typeof t['receipted_message_id'] === 'string') tlvs.receiptedMessageId = t['receipted_message_id'];
  if (typeof t['message_state'] === 'number') tlvs.messageState = t['message_state'];
  if (Buffer.isBuffer(t['network_error_code'])) tlvs.networkErrorCode = Buffer.from(t['network_error_code']);
  if (Buffer.isBuffer(t['message_payload'])) tlvs.messagePayload = Buffer.from(t['message_payload']);
  if (typeof t['sar_msg_ref_num'] === 'number') tlvs.sarMsgRefNum = t['sar_msg_ref_num'];
  if (typeof t['sar_total_segments'] === 'number') tlvs.sarTotalSegments = t['sar_total_segments'];
  if (typeof t['sar_segment_seqnum'] === 'number') tlvs.sarSegmentSeqnum = t['sar_segment_seqnum'];
  return {
    carrierId,
    bindIndex,
    isReceipt: isReceiptEsmClass(esmClass),
    esmClass,
    dataCoding: fieldNum(pdu, 'data_coding'),
    sourceAddr: fieldStr(pdu, 'source_addr'),
    destinationAddr: fieldStr(pdu, 'destination_addr'),
    shortMessage: Buffer.from(fieldBuf(pdu, 'short_message')),
    tlvs,
    ack,
  };
}
