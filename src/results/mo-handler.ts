/**
 * Replies (SPEC 7): decode by the carrier's charsets map, reassemble concatenated parts
 * (UDH or SAR; out of order, duplicates, timeout → partial), then opt-out keywords add the
 * sender to the opt-out list, intent keywords tag the reply, and the reply is attributed to
 * a client by source extension (扩展码) or else by the last message sent to that number.
 * deliver_sm_resp goes after the reply is committed.
 */
import type { Logger } from 'pino';
import type { InboundDeliver } from '../carriers/connector.js';
import type { CarrierConfig, Config } from '../config/schema.js';
import { newId } from '../domain/ids.js';
import type { Store } from '../store/index.js';
import type { Metrics } from '../observability/metrics.js';
import { decodeIncoming, Reassembler, type CharsetMap } from '../encoding/index.js';
import { detectIntent, isOptOutKeyword } from '../policy/keywords.js';
import type { Outbox } from '../webhooks/outbox.js';

export interface MoHandlerDeps {
  store: Store;
  config: () => Config;
  carrier: (id: string) => CarrierConfig | undefined;
  metrics: Metrics;
  logger: Logger;
  now: () => number;
  outbox: Outbox;
  reassemblyTimeoutMs?: number;
  /** SMPP server clients: who owns an extension, and their replies (inside the transaction). */
  smppClients?: { extensionOwner(ext: string): string | undefined; replyReceived(ev: { client: string; from: string; to: string; text: string }): void };
}

/** An incoming sender address as E.164 (carriers send 8613…, 13…, +8613…). */
export function moSender(addr: string): string {
  const d = addr.replace(/\D/g, '');
  if (/^1[3-9]\d{9}$/.test(d)) return `+86${d}`;
  return `+${d}`;
}

export class MoHandler {
  readonly #d: MoHandlerDeps;
  readonly #parts: Reassembler;
  readonly #sweep: NodeJS.Timeout;

  constructor(deps: MoHandlerDeps) {
    this.#d = deps;
    this.#parts = new Reassembler({ timeoutMs: deps.reassemblyTimeoutMs ?? 60000, max: 10000, now: deps.now });
    this.#sweep = setInterval(() => this.sweep(), 5000);
    this.#sweep.unref();
  }

  handle(ev: InboundDeliver): void {
    const c = this.#d.carrier(ev.carrierId);
    const charsets = (c?.charsets ?? {}) as CharsetMap;
    let decoded: ReturnType<typeof decodeIncoming>;
    try {
      const input: Parameters<typeof decodeIncoming>[0] = { shortMessage: ev.shortMessage, esmClass: ev.esmClass, dataCoding: ev.dataCoding };
      if (ev.tlvs.messagePayload !== undefined) input.messagePayload = ev.tlvs.messagePayload;
      if (ev.tlvs.sarMsgRefNum !== undefined && ev.tlvs.sarTotalSegments !== undefined && ev.tlvs.sarSegmentSeqnum !== undefined) {
        input.sar = { msgRefNum: ev.tlvs.sarMsgRefNum, totalSegments: ev.tlvs.sarTotalSegments, segmentSeqnum: ev.tlvs.sarSegmentSeqnum };
      }
      decoded = decodeIncoming(input, charsets);
    } catch (err) {
      this.#d.logger.warn({ carrier: ev.carrierId, err: { message: (err as Error).message } }, 'undecodable reply');
      ev.ack(0x08);
      return;
    }
    if (decoded.concat !== undefined && decoded.concat.total > 1) {
      const key = `${ev.carrierId}|${ev.sourceAddr}|${ev.destinationAddr}`;
      const r = this.#parts.add(key, decoded.concat, decoded.text);
      if (!r.complete) {
        // Parts wait in memory: acknowledged now so the SMSC sends the rest.
        ev.ack(0);
        return;
      }
      this.#finish(ev.carrierId, ev.sourceAddr, ev.destinationAddr, r.text, false).then(() => ev.ack(0), () => ev.ack(0x08));
      return;
    }
    this.#finish(ev.carrierId, ev.sourceAddr, ev.destinationAddr, decoded.text, false).then(() => ev.ack(0), () => ev.ack(0x08));
  }

  /** Incomplete replies past their timeout are delivered as partial. */
  sweep(): void {
    for (const p of this.#parts.sweep()) {
      const [carrierId, from, to] = p.key.split('|') as [string, string, string];
      void this.#finish(carrierId, from, to, p.text, true).catch((err: unknown) => this.#d.logger.error({ err }, 'partial reply failed'));
    }
  }

  stop(): void {
    clearInterval(this.#sweep);
  }

  #finish(carrierId: string, fromAddr: string, toAddr: string, text: string, partial: boolean): Promise<void> {
    const cfg = this.#d.config();
    const now = this.#d.now();
    const from = moSender(fromAddr);
    const intent = detectIntent(text, cfg.policy.intents) ?? null;
    const optOut = isOptOutKeyword(text, cfg.policy.optout.keywords);
    this.#d.metrics.mo.inc({ carrier: carrierId, intent: optOut ? 'optout' : intent ?? 'none' });
    const service = this.#d.carrier(carrierId)?.source.addr ?? '';
    return this.#d.store.commit.run(() => {
      const { messages, aux } = this.#d.store;
      if (optOut) aux.addOptOut(from, 'mo', now);
      const last = messages.lastMessageTo(from);
      // Source extension: the digits after the carrier's service code name the client.
      let client: string | undefined;
      if (service !== '' && toAddr.startsWith(service)) {
        const ext = toAddr.slice(service.length);
        if (ext !== '') client = cfg.clients.find((c) => c.source_extension === ext)?.name ?? this.#d.smppClients?.extensionOwner(ext);
      }
      client ??= last?.client;
      const id = newId('mo', now);
      aux.insertMo({ id, carrierId, from, to: toAddr, body: text, intent, client: client ?? null, lastMessageId: last?.id ?? null, partial, createdAt: now });
      if (client !== undefined) {
        this.#d.outbox.moReceived({ id, client, carrier: carrierId, from, to: toAddr, text, intent, optOut, partial, lastMessage: last, at: now });
        this.#d.smppClients?.replyReceived({ client, from, to: toAddr, text });
      }
    });
  }
}
