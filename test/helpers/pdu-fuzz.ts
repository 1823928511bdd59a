/** Building blocks of the randomized PDU tests (hostile ESME, hostile SMSC): pure, no I/O. */
import fc from 'fast-check';
import { encodeHeader } from '../../src/carriers/smpp/codec.js';

/** A C-octet string: one of `known` (NUL added), or random octets without NUL, then NUL. */
export function cstrArb(max: number, known: readonly string[]): fc.Arbitrary<Buffer> {
  return fc.oneof(
    fc.constantFrom(...known).map((s) => Buffer.from(`${s}\0`)),
    fc.uint8Array({ maxLength: max }).map((a) => Buffer.concat([Buffer.from(a.map((b) => b || 0x41)), Buffer.from([0])])),
  );
}

/** TLVs as on the wire: tag, length, value, whatever the tag's type says its length should be. */
export function tlvBytes(tlvs: ReadonlyArray<{ tag: number; value: Uint8Array }>): Buffer {
  return Buffer.concat(
    tlvs.map(({ tag, value }) => {
      const h = Buffer.alloc(4);
      h.writeUInt16BE(tag, 0);
      h.writeUInt16BE(value.length, 2);
      return Buffer.concat([h, Buffer.from(value)]);
    }),
  );
}

/** A PDU with a right command_length around any command id and body. */
export function rawPdu(commandId: number, seq: number, body: Buffer): Buffer {
  const pdu = Buffer.concat([encodeHeader(commandId >>> 0, 0, seq), body]);
  pdu.writeUInt32BE(pdu.length, 0);
  return pdu;
}
