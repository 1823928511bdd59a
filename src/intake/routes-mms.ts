/** POST /v1/mms (SPEC 3, 9): scope `mms`; 413 when the encoded MM7 message is over the MMSC's max_size_bytes. */
import type { FastifyInstance } from 'fastify';
import { ApiError } from '../domain/errors.js';
import type { ClientConfig } from '../config/schema.js';
import { requireNotDraining, requireScope } from './http-server.js';
import { IdempotencyKeys, type StoredAnswer } from './idempotency.js';
import { MAX_MMS_PARTS, persistMms, prepareMms, type MmsIntakeDeps } from '../mm7/mms-intake.js';
import { MMS_CONTENT_TYPES } from '../mm7/submit-req.js';
import type { Mm7Metrics } from '../mm7/metrics.js';

export interface MmsRoutesDeps extends MmsIntakeDeps {
  clients: () => readonly ClientConfig[];
  isDraining: () => boolean;
  metrics: Mm7Metrics;
  onAccepted: () => void;
}

/** For the OpenAPI document; validation itself is the handler's (field-named errors, no coercion). */
export const MMS_BODY_SCHEMA = {
  type: 'object',
  required: ['to', 'category'],
  properties: {
    to: { type: 'string', description: 'E.164 or national number' },
    subject: { type: 'string', maxLength: 200 },
    category: { type: 'string', enum: ['notification', 'collection', 'marketing'] },
    parts: {
      type: 'array',
      maxItems: MAX_MMS_PARTS,
      items: {
        type: 'object',
        required: ['content_type'],
        properties: {
          content_type: { type: 'string', enum: [...MMS_CONTENT_TYPES] },
          filename: { type: 'string', maxLength: 128 },
          text: { type: 'string', description: 'for text/plain' },
          content_base64: { type: 'string', description: 'for images and PDF' },
        },
      },
    },
    template: { type: 'string' },
    params: { type: 'object', additionalProperties: { type: ['string', 'number'] } },
    reference: { type: 'string', maxLength: 128 },
    callback_url: { type: 'string' },
    send_at: { type: ['string', 'number'] },
    validity_s: { type: 'integer', minimum: 1, maximum: 604800 },
    overdue_days: { type: 'integer', minimum: 0, description: 'for staged collection templates' },
    linked_id: { type: 'string', description: 'LinkedID of the MO MMS this answers' },
    fallback_sms: {
      type: 'object',
      description: 'SMS sent when the MMS ends rejected, undeliverable or expired',
      properties: { text: { type: 'string' }, template: { type: 'string' }, params: { type: 'object' } },
    },
  },
} as const;

export const MMS_ACCEPTED_SCHEMA = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    status: { type: 'string', enum: ['queued', 'scheduled'] },
    size_bytes: { type: 'integer' },
    mmsc: { type: 'string' },
  },
} as const;

const categoryOf = (b: unknown): string => {
  const c = (b as { category?: unknown } | null)?.category;
  return c === 'notification' || c === 'collection' || c === 'marketing' ? c : 'invalid';
};

export function registerMmsRoutes(app: FastifyInstance, d: MmsRoutesDeps): void {
  const idempotency = new IdempotencyKeys(d.store.aux);
  app.post(
    '/v1/mms',
    {
      schema: { summary: 'Send an MMS over MM7', description: 'Scope `mms`. Parts as text or base64; 413 when the encoded MIME is over the MMSC\'s max_size_bytes.', tags: ['mms'], body: MMS_BODY_SCHEMA, response: { 202: MMS_ACCEPTED_SCHEMA } },
      validatorCompiler: () => () => true,
      preHandler: [requireNotDraining(d.isDraining), requireScope(d.clients, 'mms')],
    },
    async (req, reply) => {
      const client = req.client!;
      const category = categoryOf(req.body);
      const work = async (record?: (a: StoredAnswer) => void): Promise<StoredAnswer> => {
        const p = prepareMms(req.body, client, d);
        const accepted = await d.store.commit.run(() =>
          d.store.messages.transaction(() => {
            const a = persistMms(p, client, d);
            record?.({ status: 202, body: a });
            return a;
          }),
        );
        d.onAccepted();
        d.metrics.intake.inc({ category, result: 'accepted' });
        return { status: 202, body: accepted };
      };
      try {
        const key = req.headers['idempotency-key'];
        const answer = typeof key === 'string' ? await idempotency.run(client.name, key, req.rawBody ?? '', d.now(), work) : await work();
        return reply.code(answer.status as 202).send(answer.body as never);
      } catch (err) {
        if (err instanceof ApiError) d.metrics.intake.inc({ category, result: err.code });
        throw err;
      }
    },
  );
}
