/**
 * The seam between the scheduler and carrier protocols (SPEC 1): a connector takes one
 * segment at a time and answers with an outcome; it emits receipts, replies and bind
 * state as events. It never touches the store: app.ts routes its events to results/.
 */
import type { EventEmitter } from 'node:events';

/** One PDU's worth of text, as produced by encoding/segmentText. */
export interface WirePart {
  shortMessage: Buffer;
  esmClass: number;
  dataCoding: number;
  messagePayload?: Buffer;
  sar?: { msgRefNum: number; totalSegments: number; segmentSeqnum: number };
}

export interface OutboundSegment {
  /** Store id of the segment, echoed back in the outcome. */
  segmentId: number;
  messageId: string;
  /** Destination as E.164 without '+', e.g. 8613800138000; the connector formats it per carrier. */
  to: string;
  /** Source address override (with client extension); undefined = carrier default. */
  from?: string;
  part: WirePart;
  /** Whether this PDU asks for a receipt (carrier registered_delivery applied by the caller). */
  registeredDelivery: boolean;
  /** Category/lane, for metrics and priority inside the connector (OTP first). */
  lane: string;
  /**
   * Validity left when handed to the connector (ms): the message's validity_s or the OTP's
   * TTL minus the time it waited. Sent as validity_period so the SMSC does not deliver it
   * after it lapses. Undefined: the SMSC's default.
   */
  validityMs?: number;
}

export type SubmitOutcome =
  | { kind: 'accepted'; carrierMessageId: string }
  /** The SMSC answered with an error command_status. */
  | { kind: 'rejected'; commandStatus: number; statusName: string }
  /** No resp within response_timeout_s. */
  | { kind: 'timeout' }
  /**
   * No bind could take it (nothing more), or the bind dropped with this PDU in flight
   * (`inFlight`). `countsAsAttempt`: this segment was in flight on a dropped bind before,
   * so the drop may be its fault (a PDU that makes the SMSC cut the link): it is charged to
   * the retry budget instead of being resent for free for ever.
   */
  | { kind: 'disconnected'; inFlight?: boolean; countsAsAttempt?: boolean };

/** A deliver_sm from the carrier: a receipt or a reply. `ack` sends deliver_sm_resp. */
export interface InboundDeliver {
  carrierId: string;
  bindIndex: number;
  isReceipt: boolean;
  esmClass: number;
  dataCoding: number;
  sourceAddr: string;
  destinationAddr: string;
  shortMessage: Buffer;
  /** Optional TLVs, raw: receipted_message_id, message_state, network_error_code, sar_*, message_payload. */
  tlvs: {
    receiptedMessageId?: string;
    messageState?: number;
    networkErrorCode?: Buffer;
    messagePayload?: Buffer;
    sarMsgRefNum?: number;
    sarTotalSegments?: number;
    sarSegmentSeqnum?: number;
  };
  /** Send deliver_sm_resp with this command_status (0 = ESME_ROK). Call once, after commit. */
  ack(commandStatus?: number): void;
}

export interface BindState {
  carrierId: string;
  bindIndex: number;
  state: 'connecting' | 'binding' | 'bound' | 'unbinding' | 'closed' | 'backoff';
  mode: 'transceiver' | 'transmitter' | 'receiver';
  inFlight: number;
  window: number;
}

export interface ConnectorEvents {
  deliver: [InboundDeliver];
  bind: [BindState];
}

export interface Connector extends EventEmitter<ConnectorEvents> {
  readonly id: string;
  start(): void;
  /** Unbind every session after in-flight PDUs finish or graceMs passes. */
  stop(graceMs: number): Promise<void>;
  /** How many more submits it can take right now (free window slots across bound binds). */
  capacity(): number;
  /** At least one bind can submit. */
  isUp(): boolean;
  /** Bound at least once since start (readiness). */
  hasBound(): boolean;
  submit(seg: OutboundSegment): Promise<SubmitOutcome>;
  binds(): BindState[];
}
