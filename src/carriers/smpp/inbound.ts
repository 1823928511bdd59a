/**
 * The inbound half both ends of a bind share (the ESME session and the SMPP server's
 * session): a framed PDU decoded and routed as a request or a response, or, when its body
 * does not decode, the answer owed to it. Pure: the caller owns the socket.
 */
import { CommandId, decodePdu, encodeHeader, isResponseId, readHeader, responseIdFor, type Pdu, type PduHeader } from './codec.js';
import { Status } from './command-status.js';
import { DecodeError } from './errors.js';

export interface InboundRoutes {
  request(pdu: Pdu): void;
  response(pdu: Pdu): void;
  /** A good header whose body does not decode (answer it with undecodableAnswer); buf is the whole PDU. */
  undecodable(err: DecodeError, head: PduHeader, buf: Buffer): void;
}

export function routePdu(buf: Buffer, routes: InboundRoutes): void {
  let pdu: Pdu;
  try {
    pdu = decodePdu(buf);
  } catch (e) {
    if (!(e instanceof DecodeError)) throw e;
    routes.undecodable(e, readHeader(buf), buf);
    return;
  }
  if (isResponseId(pdu.commandId)) routes.response(pdu);
  else routes.request(pdu);
}

/** A request that does not decode gets its own resp with the decoder's status, or generic_nack if it has no resp. */
export function undecodableAnswer(err: DecodeError, head: PduHeader): Buffer {
  const respId = responseIdFor(head.commandId);
  if (respId === undefined) return encodeHeader(CommandId.generic_nack, Status.ESME_RINVCMDLEN, head.sequenceNumber);
  return encodeHeader(respId, err.status, head.sequenceNumber);
}
