/** GET/DELETE /v1/messages/{id}, POST /v1/messages/cancel, and the probes and metrics. */
import type { FastifyInstance } from 'fastify';
import { ApiError } from '../domain/errors.js';
import type { ClientConfig } from '../config/schema.js';
import type { MessageStore, MessageRecord, SegmentRecord } from '../store/types.js';
import { requireScope } from './http-server.js';
import type { Metrics } from '../observability/metrics.js';
import type { MessageStatus } from '../domain/types.js';

export interface MessageRoutesDeps {
  messages: MessageStore;
  clients: () => readonly ClientConfig[];
  now: () => number;
  commit: <T>(fn: () => T) => Promise<T>;
  metrics: Metrics;
  ready: () => { ok: boolean; reasons: string[] };
  onCanceled?: (ids: string[]) => void;
  /** A message of another channel (MMS) by id, rendered; undefined when it is none or not this owner's. */
  describeOther?: (id: string, owner: string | undefined) => Record<string, unknown> | undefined;
  /** Extra fields for an SMS (e.g. the MMS it is the fallback of). */
  annotate?: (m: MessageRecord) => Record<string, unknown> | undefined;
  /** Cancel in another channel (MMS): the ids the SMS store did not know, and its ids by reference. */
  cancelOther?: {
    cancel(ids: string[], owner: string | undefined, now: number): { canceled: string[]; onWire: string[]; final: Array<{ id: string; status: MessageStatus }>; notFound: string[] };
    idsByReference(client: string, reference: string): string[];
  };
}

// A row written before send_at was range-checked may hold an instant Date cannot render: null, not a 500.
const iso = (t: number | null) => (t === null || !Number.isFinite(t) || Math.abs(t) > 8.64e15 ? null : new Date(t).toISOString());

export function renderMessage(m: MessageRecord, segs: SegmentRecord[]): Record<string, unknown> {
  return {
    id: m.id,
    status: m.status,
    category: m.category,
    to: m.to,
    carrier: m.carrierId,
    encoding: m.encoding,
    segments: m.segmentsCount,
    reference: m.reference,
    template: m.templateId,
    variant: m.variant,
    stage: m.stage,
    error_code: m.errorCode,
    error_text: m.errorText,
    send_at: iso(m.sendAt),
    expires_at: iso(m.expiresAt),
    timestamps: {
      created: iso(m.createdAt),
      queued: iso(m.queuedAt),
      scheduled: iso(m.scheduledAt),
      submitting: iso(m.submittingAt),
      submitted: iso(m.submittedAt),
      final: iso(m.finalAt),
    },
    parts: segs.map((s) => ({
      seq: s.seq,
      status: s.status,
      carrier: s.carrierId,
      carrier_message_id: s.carrierMsgId,
      attempts: s.attempts,
      dlr_stat: s.receiptStat,
      dlr_err: s.receiptErr,
      error_code: s.errorCode,
      submitted_at: iso(s.submittedAt),
      final_at: iso(s.finalAt),
    })),
  };
}

export function registerMessageRoutes(app: FastifyInstance, d: MessageRoutesDeps): void {
  // Messages of either channel: an MMS-only client reads and cancels its MMS here too.
  const auth = requireScope(d.clients, ['sms', 'mms']);
  const owner = (c: ClientConfig) => (c.scopes.includes('admin') ? undefined : c.name);

  app.get<{ Params: { id: string } }>('/v1/messages/:id', { preHandler: auth }, async (req) => {
    const m = d.messages.getMessage(req.params.id);
    const own = owner(req.client!);
    if (m === undefined) {
      const other = d.describeOther?.(req.params.id, own);
      if (other !== undefined) return other;
    }
    if (m === undefined || (own !== undefined && m.client !== own)) throw new ApiError('not_found', 'unknown message id', { field: 'id' });
    const extra = d.annotate?.(m);
    const view = renderMessage(m, d.messages.getSegments(m.id));
    return extra === undefined ? view : { ...view, ...extra };
  });

  const cancel = async (ids: string[], client: ClientConfig) => {
    const res = await d.commit(() => {
      const r = d.messages.cancel(ids, owner(client), d.now());
      if (d.cancelOther === undefined || r.notFound.length === 0) return r;
      const o = d.cancelOther.cancel(r.notFound, owner(client), d.now());
      return { canceled: [...r.canceled, ...o.canceled], onWire: [...r.onWire, ...o.onWire], final: [...r.final, ...o.final], notFound: o.notFound };
    });
    if (res.canceled.length > 0) d.onCanceled?.(res.canceled);
    return { canceled: res.canceled, on_wire: res.onWire, final: res.final, not_found: res.notFound };
  };

  app.delete<{ Params: { id: string } }>('/v1/messages/:id', { preHandler: auth }, async (req) => {
    const res = await cancel([req.params.id], req.client!);
    if (res.not_found.length > 0) throw new ApiError('not_found', 'no message with this id', { field: 'id' });
    return res;
  });

  app.post('/v1/messages/cancel', { preHandler: auth }, async (req) => {
    const body = req.body as { reference?: unknown } | undefined;
    const ref = body?.reference;
    if (typeof ref !== 'string' || ref.length === 0 || ref.length > 128) {
      throw new ApiError('invalid_field', 'reference must be a non-empty string', { field: 'reference' });
    }
    const ids = [...d.messages.idsByReference(req.client!.name, ref), ...(d.cancelOther?.idsByReference(req.client!.name, ref) ?? [])];
    // The same answer as DELETE of an unknown id: 404 not_found naming the field.
    if (ids.length === 0) throw new ApiError('not_found', 'no message with this reference', { field: 'reference' });
    const res = await cancel(ids, req.client!);
    return { reference: ref, ...res };
  });

  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_req, reply) => {
    const r = d.ready();
    return reply.code(r.ok ? 200 : 503).send({ ready: r.ok, reasons: r.reasons });
  });
  app.get('/metrics', async (_req, reply) => {
    const text = await d.metrics.registry.metrics();
    return reply.header('Content-Type', d.metrics.registry.contentType).send(text);
  });
}
