/**
 * Inbound deliver_sm routing (SPEC 7): receipts to the receipt handler, replies to the MO
 * handler. A receipt often arrives in the same read as its submit_sm_resp; the resp's
 * outcome is handled in promise callbacks, so deliveries are handled after those have run
 * (and queued the `submitted` write ahead of the receipt's lookup): all of a turn's, in one
 * immediate (receipts together, so a store where a statement is a round trip looks them up in
 * one). A handler that throws answers ESME_RSYSERR (the SMSC resends) and nothing else stops.
 */
import type { Logger } from 'pino';
import type { Connector, InboundDeliver } from '../carriers/connector.js';

export interface InboundHandlers {
  receipt: (ev: InboundDeliver) => void;
  /** A turn's receipts at once, in order (ReceiptHandler.handleMany); `receipt` one by one without it. */
  receipts?: (evs: InboundDeliver[]) => void;
  reply: (ev: InboundDeliver) => void;
}

export class InboundBatch {
  readonly #h: InboundHandlers;
  readonly #logger: Logger;
  #pending: InboundDeliver[] = [];

  constructor(handlers: InboundHandlers, logger: Logger) {
    this.#h = handlers;
    this.#logger = logger;
  }

  /** Route a connector's deliveries through this batch. */
  attach(connector: Connector): void {
    connector.on('deliver', (ev) => this.push(ev));
  }

  push(ev: InboundDeliver): void {
    if (this.#pending.push(ev) === 1) setImmediate(() => this.#run());
  }

  #run(): void {
    const batch = this.#pending;
    this.#pending = [];
    const many = this.#h.receipts;
    const receipts: InboundDeliver[] = [];
    for (const ev of batch) {
      if (ev.isReceipt && many !== undefined) {
        receipts.push(ev);
        continue;
      }
      try {
        if (ev.isReceipt) this.#h.receipt(ev);
        else this.#h.reply(ev);
      } catch (err) {
        this.#failed(ev, err);
      }
    }
    if (receipts.length > 0) many!(receipts);
  }

  #failed(ev: InboundDeliver, err: unknown): void {
    answerFailed(this.#logger, ev, err);
  }
}

/** A deliver_sm whose handler threw: ESME_RSYSERR (the SMSC resends it), logged; nothing else stops. */
export function answerFailed(logger: Logger, ev: InboundDeliver, err: unknown): void {
  logger.error({ err: { message: (err as Error).message }, carrier: ev.carrierId }, 'deliver_sm handling failed');
  ev.ack(0x08);
}
