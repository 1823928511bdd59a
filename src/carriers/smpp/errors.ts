/**
 * Typed SMPP errors, each with a stable `code` that tests and callers assert on
 * (the undici habit). Recoverable ones (a PDU we cannot decode) keep the bind; a
 * framing error is unrecoverable and closes that bind alone.
 */
import { XingeError } from '../../domain/errors.js';
import { statusName } from './command-status.js';

export type SmppErrorCode =
  | 'smpp_framing'
  | 'smpp_decode'
  | 'smpp_encode'
  | 'smpp_bind_failed'
  | 'smpp_bind_timeout'
  | 'smpp_connect_failed'
  | 'smpp_connect_timeout'
  | 'smpp_enquire_link_timeout'
  | 'smpp_closed'
  | 'smpp_window_full';

export class SmppError extends XingeError {
  declare readonly code: SmppErrorCode;
  constructor(code: SmppErrorCode, message: string) {
    super(code, message);
    this.name = 'SmppError';
  }
}

/** The byte stream cannot be split into PDUs (absurd command_length): close the connection. */
export class FramingError extends SmppError {
  readonly commandLength: number;
  constructor(commandLength: number) {
    super('smpp_framing', `absurd command_length ${commandLength}`);
    this.name = 'FramingError';
    this.commandLength = commandLength;
  }
}

/**
 * A PDU with a valid header whose body cannot be decoded. `status` is the command_status
 * to answer it with (ESME_RINVMSGLEN, ESME_RINVCMDLEN, ESME_RINVTLVSTREAM, ESME_RSYSERR).
 */
export class DecodeError extends SmppError {
  readonly status: number;
  readonly commandId: number;
  readonly sequenceNumber: number;
  constructor(message: string, status: number, commandId: number, sequenceNumber: number) {
    super('smpp_decode', message);
    this.name = 'DecodeError';
    this.status = status;
    this.commandId = commandId;
    this.sequenceNumber = sequenceNumber;
  }
}

/** The SMSC answered bind_* with an error command_status. */
export class BindError extends SmppError {
  readonly commandStatus: number;
  readonly statusName: string;
  constructor(commandStatus: number) {
    const name = statusName(commandStatus);
    super('smpp_bind_failed', `bind refused: ${name}`);
    this.name = 'BindError';
    this.commandStatus = commandStatus;
    this.statusName = name;
  }
}
