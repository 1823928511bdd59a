/**
 * What the receiver does with each MM7 request: a DeliveryReportReq ends its MMS (MMStatus
 * mapped), a DeliverReq (an MO MMS) fires the MO webhook with its parts, a ReadReplyReq is
 * recorded. Each is recorded in mms_inbound in the commit that acts on it.
 */
import type { Logger } from 'pino';
import type { Config } from '../config/schema.js';
import { newId } from '../domain/ids.js';
import type { Store } from '../store/index.js';
import type { Outbox } from '../webhooks/outbox.js';
import { moSender } from '../results/mo-handler.js';
import { partText, type ParsedMm7 } from './mm7-message.js';
import { messageStatusOfMmStatus } from './status-codes.js';
import type { Mm7Metrics } from './metrics.js';
import type { MmsResults } from './mms-results.js';
import type { InboundAnswer } from './receiver.js';

export interface MmsInboundDeps {
  config: () => Config;
  store: Store;
  outbox: Outbox;
  results: MmsResults;
  metrics: Mm7Metrics;
  logger: Logger;
  now: () => number;
}

const MM_STATUSES = ['Expired', 'Retrieved', 'Rejected', 'Indeterminate', 'Forwarded', 'Deferred', 'Unrecognised', 'Deleted', 'NotSupported', 'NotAllowed', 'Read'];
/** A peer's MMStatus as a metric label: the schema's values only, so a label never takes free input. */
const mmStatusLabel = (s: string): string => MM_STATUSES.find((x) => x.toLowerCase() === s.trim().toLowerCase()) ?? 'other';

const OK = (kind: InboundAnswer['kind']): InboundAnswer => ({ kind, code: 1000, text: 'Success' });

export function createInboundHandler(d: MmsInboundDeps): (p: ParsedMm7) => Promise<InboundAnswer | undefined> {
  return async (p) => {
    const m = p.message;
    const now = d.now();
    const { store } = d;
    switch (m.kind) {
      case 'DeliveryReportReq': {
        // Looked up again inside the commit: a SubmitRsp whose MessageID was queued for the
        // same commit is seen there. Still none: the report may have come before its MMS
        // recorded the MessageID (a fast MMSC, a busy daemon), so it is held with that
        // MessageID and applied when the MMS records it (MmsResults.accepted), or by the
        // reconcile sweep after a crash or on another node.
        const rec = await store.commit.run(() => {
          const found = store.mms.findByMm7Id(m.messageId);
          store.mms.recordInbound({
            id: newId('mm7', now), kind: m.kind, messageId: found?.id ?? null, sender: null, recipient: null, mmStatus: m.mmStatus, subject: null,
            linkedId: null, client: found?.client ?? null, partsJson: null, createdAt: now, mm7MessageId: found === undefined ? m.messageId : null,
          });
          return found;
        });
        d.metrics.reports.inc({ mmsc: rec?.mmscId ?? 'unmatched', mm_status: mmStatusLabel(m.mmStatus) });
        if (rec === undefined) {
          // Answered all the same: an MMSC told "not found" resends its report forever.
          d.logger.warn({ mm7MessageId: m.messageId, mmStatus: mmStatusLabel(m.mmStatus) }, 'MM7 delivery report matches no MMS yet: held for its MessageID');
          return OK('DeliveryReportRsp');
        }
        const status = messageStatusOfMmStatus(m.mmStatus);
        if (status !== undefined) await d.results.ended(rec, status, { mmStatus: m.mmStatus, text: m.statusText ?? m.mmStatus });
        return OK('DeliveryReportRsp');
      }
      case 'ReadReplyReq': {
        const rec = store.mms.findByMm7Id(m.messageId);
        await store.commit.run(() => {
          if (rec !== undefined) store.mms.setReadStatus(rec.id, m.mmStatus, now);
          store.mms.recordInbound({ id: newId('mm7', now), kind: m.kind, messageId: rec?.id ?? null, sender: null, recipient: null, mmStatus: m.mmStatus, subject: null, linkedId: null, client: rec?.client ?? null, partsJson: null, createdAt: now });
        });
        return OK('ReadReplyRsp');
      }
      case 'DeliverReq': {
        const from = m.sender !== undefined && /^\+?\d{5,20}$/.test(m.sender) ? moSender(m.sender) : m.sender ?? '';
        const to = m.recipients[0] ?? '';
        const last = store.messages.lastMessageTo(from);
        const client = last?.client ?? d.config().mm7?.receiver?.default_client ?? null;
        const parts = p.parts.map((x) => ({
          content_type: x.contentType,
          content_id: x.contentId ?? null,
          filename: x.filename ?? x.location ?? null,
          size: x.data.length,
          ...(x.contentType.startsWith('text/') || x.contentType === 'application/smil' ? { text: partText(x) } : { content_base64: x.data.toString('base64') }),
        }));
        const id = newId('mo', now);
        await store.commit.run(() => {
          store.mms.recordInbound({
            id, kind: m.kind, messageId: null, sender: from, recipient: to, mmStatus: null, subject: m.subject ?? null, linkedId: m.linkedId ?? null,
            client, partsJson: JSON.stringify(parts.map((x) => ({ ...x, content_base64: undefined }))), createdAt: now,
          });
          if (client !== null) {
            d.outbox.mmsReceived({ id, client, mmsc: m.relayServerId ?? 'mmsc', from, to, subject: m.subject ?? null, linkedId: m.linkedId ?? null, parts, lastMessageId: last?.id ?? null, at: now });
          }
        });
        if (client === null) d.logger.warn({ parts: parts.length }, 'MO MMS attributed to no client (set mm7.receiver.default_client)');
        return OK('DeliverRsp');
      }
      default:
        return undefined;
    }
  };
}
