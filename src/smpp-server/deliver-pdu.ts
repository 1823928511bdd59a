/**
 * What the SMPP server owes a client, as stored rows and as deliver_sm fields (pure):
 * a delivery receipt in the standard text (`id:… sub:… dlvrd:… submit date:… done date:…
 * stat:… err:… text:`) plus the receipted_message_id and message_state TLVs; and a reply
 * (MO) in GSM 03.38 when it fits, else UCS-2, in message_payload when over 254 octets.
 */
import type { SubmitSmFields } from '../carriers/smpp/codec.js';
import type { MessageStatus } from '../domain/types.js';
import { encodeUcs2, toSeptets } from '../encoding/index.js';
import { localParts } from '../policy/zoned-time.js';

export interface ReceiptBody {
  kind: 'receipt';
  messageId: string;
  /** The recipient, E.164. */
  to: string;
  /** The address the client sent from (source extension), '' if none. */
  from: string;
  status: MessageStatus;
  errorCode: string | null;
  submittedAt: number;
  doneAt: number;
}

export interface MoBody {
  kind: 'mo';
  from: string;
  to: string;
  text: string;
}

export type OwedDeliver = ReceiptBody | MoBody;

/** SMPP 3.4 §5.2.28 message_state and the receipt's stat word, by final status. */
const RECEIPT_STATE: Partial<Record<MessageStatus, { stat: string; state: number }>> = {
  delivered: { stat: 'DELIVRD', state: 2 },
  expired: { stat: 'EXPIRED', state: 3 },
  canceled: { stat: 'DELETED', state: 4 },
  undeliverable: { stat: 'UNDELIV', state: 5 },
  failed: { stat: 'UNDELIV', state: 5 },
  unknown: { stat: 'UNKNOWN', state: 7 },
  rejected: { stat: 'REJECTD', state: 8 },
};

const two = (n: number) => String(n).padStart(2, '0');

/** YYMMDDhhmm in the zone (the receipt format's 10-digit date). */
export function receiptDate(t: number, zone: string): string {
  const p = localParts(zone, t);
  return `${two(p.y % 100)}${two(p.m)}${two(p.d)}${two(p.hh)}${two(p.mm)}`;
}

/** The err field: a carrier's numeric code when it is one, else 000 for delivered and 001 otherwise. */
function errField(b: ReceiptBody): string {
  if (b.errorCode !== null && /^\d{1,3}$/.test(b.errorCode)) return b.errorCode.padStart(3, '0');
  return b.status === 'delivered' ? '000' : '001';
}

export function receiptText(b: ReceiptBody, zone: string): string {
  const st = RECEIPT_STATE[b.status] ?? { stat: 'UNKNOWN', state: 7 };
  const dlvrd = b.status === 'delivered' ? '001' : '000';
  return `id:${b.messageId} sub:001 dlvrd:${dlvrd} submit date:${receiptDate(b.submittedAt, zone)} done date:${receiptDate(b.doneAt, zone)} stat:${st.stat} err:${errField(b)} text:`;
}

const digits = (addr: string) => addr.replace(/^\+/, '');

/** deliver_sm fields for one owed row (encoded by the client side's encodeShortMessagePdu). */
export function deliverFields(b: OwedDeliver, zone: string): SubmitSmFields {
  const base = { sourceAddrTon: 1, sourceAddrNpi: 1, destAddrTon: 0, destAddrNpi: 1, registeredDelivery: 0 };
  if (b.kind === 'receipt') {
    const st = RECEIPT_STATE[b.status] ?? { stat: 'UNKNOWN', state: 7 };
    return {
      ...base,
      sourceAddr: digits(b.to),
      destinationAddr: b.from,
      esmClass: 0x04,
      dataCoding: 0,
      shortMessage: Buffer.from(receiptText(b, zone), 'latin1'),
      receiptedMessageId: b.messageId,
      messageState: st.state,
    };
  }
  const septets = toSeptets(b.text);
  const data = septets !== null ? Buffer.from(septets) : encodeUcs2(b.text);
  const long = data.length > 254;
  return {
    ...base,
    sourceAddr: digits(b.from),
    destinationAddr: b.to,
    esmClass: 0,
    dataCoding: septets !== null ? 0 : 8,
    shortMessage: long ? Buffer.alloc(0) : data,
    ...(long ? { messagePayload: data } : {}),
  };
}
