/**
 * Replies (SPEC 7): decode by the carrier's charsets map, reassemble concatenated parts
 * (UDH or SAR; out of order, duplicates, timeout → partial), then opt-out keywords add the
 * sender to the opt-out list, intent keywords tag the reply, and the reply is attributed to
 * a client by source extension (扩展码), else by the last message sent to that number, else
 * to replies.default_client.
 * deliver_sm_resp goes after the reply is committed; so does a part of a multipart reply,
 * stored (mo_parts) before it is answered so a crash loses none. Open replies are capped by
 * count and bytes (inbound.*): one pushed out is stored at once as a partial reply.
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
import { LogLimiter } from '../observability/log-limiter.js';
import type { PartialMessage } from '../encoding/index.js';

export interface MoHandlerDeps {
  store: Store;
  config: () => Config;
  carrier: (id: string) => CarrierConfig | undefined;
  metrics: Metrics;
  logger: Logger;
  now: () => number;
  outbox: Outbox;
  reassemblyTimeoutMs?: number;
  maxOpen?: number;
  maxOpenBytes?: number;
  log?: LogLimiter;
  /** SMPP server clients: who owns an extension, and their replies (inside the transaction). */
  smppClients?: { extensionOwner(ext: string): string | undefined; replyReceived(ev: { client: string; from: string; to: string; text: string }): void };
}

/** An incoming sender address as E.164 (carriers send 8613…, 13…, +8613…). */
export function moSender(addr: string): string {
  const d = addr.replace(/\D/g, '');
  if (/^1[3-9]\d{9}$/.test(d)) return `+86${d}`;
  return `+${d}`;
}

/**
 * Who a reply belongs to (SPEC 3, 7): the client whose source extension the destination
 * carries after the carrier's service code (extensions never overlap, so at most one
 * matches), else the client that last messaged the sender, else replies.default_client.
 * Undefined only when none of those exists.
 */
export function replyOwner(
  cfg: Config,
  serviceCode: string,
  toAddr: string,
  lastClient: string | undefined,
  /** Extensions owned outside clients[] (SMPP server accounts). */
  otherOwner?: (ext: string) => string | undefined,
): string | undefined {
  if (serviceCode !== '' && toAddr.startsWith(serviceCode)) {
    const ext = toAddr.slice(serviceCode.length);
    if (ext !== '') {
      const owner = cfg.clients.find((c) => c.source_extension !== undefined && c.source_extension !== '' && ext.startsWith(c.source_extension));
      if (owner !== undefined) return owner.name;
      const other = otherOwner?.(ext);
      if (other !== undefined) return other;
    }
  }
  if (lastClient !== undefined) return lastClient;
  const fallback = cfg.replies.default_client;
  return fallback !== undefined && cfg.clients.some((c) => c.name === fallback) ? fallback : undefined;
}

export class MoHandler {
  readonly #d: MoHandlerDeps;
  readonly #parts: Reassembler;
  readonly #sweep: NodeJS.Timeout;
  readonly #log: LogLimiter;

  constructor(deps: MoHandlerDeps) {
    this.#d = deps;
    this.#log = deps.log ?? new LogLimiter(deps.logger, { now: deps.now });
    this.#parts = new Reassembler({
      timeoutMs: deps.reassemblyTimeoutMs ?? 60000,
      max: deps.maxOpen ?? 10000,
      maxBytes: deps.maxOpenBytes ?? 8 * 1024 * 1024,
      now: deps.now,
      onEvict: (p) => this.#partial(p),
    });
    // Parts stored before the last stop: the reply goes on where it was.
    for (const row of deps.store.aux.moParts()) {
      const r = this.#parts.add(row.conv, { ref: row.ref, total: row.total, seq: row.seq, refBits: 8 }, row.body, row.receivedAt);
      if (r.complete) {
        const [carrierId, from, to] = row.conv.split('|') as [string, string, string];
        void this.#finish(carrierId, from, to, r.text, false, { conv: row.conv, ref: row.ref, total: row.total }).catch((err: unknown) =>
          this.#d.logger.error({ err }, 'restored reply failed'),
        );
      }
    }
    this.#sweep = setInterval(() => this.sweep(), 5000);
    this.#sweep.unref();
  }

  /** Replies waiting for parts (gauges, tests). */
  get open(): number {
    return this.#parts.size;
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
      this.#log.warn(ev.carrierId, { carrier: ev.carrierId, err: { message: (err as Error).message } }, 'undecodable reply');
      ev.ack(0x08);
      return;
    }
    if (decoded.concat !== undefined && decoded.concat.total > 1) {
      const key = `${ev.carrierId}|${ev.sourceAddr}|${ev.destinationAddr}`;
      const concat = decoded.concat;
      const at = this.#d.now();
      const r = this.#parts.add(key, concat, decoded.text, at);
      const whole = { conv: key, ref: concat.ref, total: concat.total };
      if (!r.complete) {
        if ('duplicate' in r) {
          ev.ack(0);
          return;
        }
        // Stored, then acknowledged so the SMSC sends the rest: a crash loses no part.
        this.#d.store.commit
          .run(() => this.#d.store.aux.insertMoPart({ ...whole, seq: concat.seq, body: decoded.text, receivedAt: at }))
          .then(() => ev.ack(0), () => ev.ack(0x08));
        return;
      }
      this.#finish(ev.carrierId, ev.sourceAddr, ev.destinationAddr, r.text, false, whole).then(() => ev.ack(0), () => ev.ack(0x08));
      return;
    }
    this.#finish(ev.carrierId, ev.sourceAddr, ev.destinationAddr, decoded.text, false).then(() => ev.ack(0), () => ev.ack(0x08));
  }

  /** Incomplete replies past their timeout are delivered as partial. */
  sweep(): void {
    for (const p of this.#parts.sweep()) this.#partial(p);
  }

  /** Stored as a partial reply (timeout, or pushed out by the caps): every acknowledged part is in it. */
  #partial(p: PartialMessage): void {
    const [carrierId, from, to] = p.key.split('|') as [string, string, string];
    this.#d.metrics.moPartial.inc({ carrier: carrierId, reason: p.reason });
    if (p.reason === 'evicted') this.#log.warn(carrierId, { carrier: carrierId, open: this.#parts.size }, 'multipart reply pushed out by the caps: stored as partial');
    void this.#finish(carrierId, from, to, p.text, true, { conv: p.key, ref: p.ref, total: p.total }).catch((err: unknown) =>
      this.#d.logger.error({ err }, 'partial reply failed'),
    );
  }

  stop(): void {
    clearInterval(this.#sweep);
  }

  #finish(carrierId: string, fromAddr: string, toAddr: string, text: string, partial: boolean, parts?: { conv: string; ref: number; total: number }): Promise<void> {
    const cfg = this.#d.config();
    const now = this.#d.now();
    const from = moSender(fromAddr);
    const intent = detectIntent(text, cfg.policy.intents) ?? null;
    const optOut = isOptOutKeyword(text, cfg.policy.optout.keywords);
    this.#d.metrics.mo.inc({ carrier: carrierId, intent: optOut ? 'optout' : intent ?? 'none' });
    const service = this.#d.carrier(carrierId)?.source.addr ?? '';
    return this.#d.store.commit.run(() => {
      const { messages, aux } = this.#d.store;
      if (parts !== undefined) aux.deleteMoParts(parts.conv, parts.ref, parts.total);
      if (optOut) aux.addOptOut(from, 'mo', now);
      const last = messages.lastMessageTo(from);
      const client = replyOwner(cfg, service, toAddr, last?.client, (ext) => this.#d.smppClients?.extensionOwner(ext));
      const id = newId('mo', now);
      aux.insertMo({ id, carrierId, from, to: toAddr, body: text, intent, client: client ?? null, lastMessageId: last?.id ?? null, partial, createdAt: now });
      if (client !== undefined) {
        this.#d.outbox.moReceived({ id, client, carrier: carrierId, from, to: toAddr, text, intent, optOut, partial, lastMessage: last, at: now });
        this.#d.smppClients?.replyReceived({ client, from, to: toAddr, text });
      }
    });
  }
}
