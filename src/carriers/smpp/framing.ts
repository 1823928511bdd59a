/**
 * Framing: split a TCP byte stream into whole PDUs by their command_length (the first
 * four octets, big-endian, counting themselves). Pure: no socket here.
 *
 * A command_length under 16 (the header) or over MAX_PDU_LENGTH cannot be a PDU: the
 * stream has lost sync and nothing after it can be trusted, so it is a FramingError and
 * the owner closes that connection. Everything else (an unknown command, a body that does
 * not decode) is the decoder's business and keeps the connection.
 */
import { FramingError } from './errors.js';

export const HEADER_LENGTH = 16;
/** 64 KiB: message_payload may carry up to 64 KiB on some SMSCs; anything larger is absurd. */
export const MAX_PDU_LENGTH = 65536;

export class PduFramer {
  readonly #maxLength: number;
  #buf: Buffer | null = null;
  #failed = false;

  constructor(maxLength = MAX_PDU_LENGTH) {
    this.#maxLength = maxLength;
  }

  /** Octets received but not yet part of a whole PDU. */
  get pending(): number {
    return this.#buf?.length ?? 0;
  }

  /**
   * Feed a chunk; returns the complete PDUs it finishes (each a Buffer of exactly
   * command_length octets). Throws FramingError on an absurd command_length; after
   * that the framer refuses further input.
   */
  push(chunk: Buffer): Buffer[] {
    if (this.#failed) throw new FramingError(-1);
    let buf = this.#buf === null ? chunk : Buffer.concat([this.#buf, chunk]);
    const out: Buffer[] = [];
    let off = 0;
    while (buf.length - off >= 4) {
      const len = buf.readUInt32BE(off);
      if (len < HEADER_LENGTH || len > this.#maxLength) {
        this.#failed = true;
        this.#buf = null;
        throw new FramingError(len);
      }
      if (buf.length - off < len) break;
      out.push(buf.subarray(off, off + len));
      off += len;
    }
    if (off === buf.length) this.#buf = null;
    else {
      // Copy the remainder so the chunk it came from is not kept alive by a small tail.
      buf = buf.subarray(off);
      this.#buf = off === 0 && this.#buf !== null ? buf : Buffer.from(buf);
    }
    return out;
  }
}
