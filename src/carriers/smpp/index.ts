/** SMPP client: the bind pool (a Connector), its session, codec and helpers. */
export { BindPool, type BindPoolOptions, type SubmitLimiter } from './bind-pool.js';
export type { SlotCloseMode } from './bind-slots.js';
export { SmppSession, type SessionOptions, type SessionState, type BindMode, type CloseReason, type SessionCloseInfo } from './session.js';
export type { SmppMetrics } from './metrics.js';
export { Status, statusName, statusCode, isAuthFailure } from './command-status.js';
export { SmppError, FramingError, DecodeError, BindError, type SmppErrorCode } from './errors.js';
export { PduFramer, MAX_PDU_LENGTH, HEADER_LENGTH } from './framing.js';
export { decodePdu, encodePdu, encodeSubmitSm, encodeHeader, encodeMessageIdResp, CommandId, type Pdu, type SubmitSmFields } from './codec.js';
export { formatDestination, submitFieldsFor, isReceiptEsmClass, toInboundDeliver } from './pdu-mapping.js';
export { validityPeriodFor, formatRelativeValidity, formatAbsoluteValidity, parseRelativeValidity, type ValidityMode } from './validity.js';
