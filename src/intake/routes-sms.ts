/** POST /v1/sms and POST /v1/sms/batch. */
import type { FastifyInstance } from 'fastify';
import { ApiError } from '../domain/errors.js';
import { CATEGORIES } from '../domain/types.js';
import type { ClientConfig } from '../config/schema.js';
import type { Metrics } from '../observability/metrics.js';
import { requireNotDraining, requireScope } from './http-server.js';
import type { IdempotencyKeys, StoredAnswer } from './idempotency.js';
import type { Accepted, SubmitService } from './submit-service.js';
import { parseSmsRequest } from './validate.js';
import type { ClientRateLimits } from './client-rate-limit.js';

export interface SmsRoutesDeps {
  service: SubmitService;
  idempotency: IdempotencyKeys;
  clients: () => readonly ClientConfig[];
  isDraining: () => boolean;
  metrics: Metrics;
  rateLimits: ClientRateLimits;
  now: () => number;
  /** policy.timezone: a send_at without a UTC offset is wall time there. */
  timezone?: () => string;
}

export const MAX_BATCH = 1000;

/** The metrics label: a known category, else `invalid` (a label never takes free input: bounded cardinality). */
function categoryOf(body: unknown): string {
  const c = (body as { category?: unknown } | null)?.category;
  return typeof c === 'string' && (CATEGORIES as readonly string[]).includes(c) ? c : 'invalid';
}

export function registerSmsRoutes(app: FastifyInstance, d: SmsRoutesDeps): void {
  const preHandler = [requireNotDraining(d.isDraining), requireScope(d.clients, 'sms')];

  const withIdempotency = async (
    req: { headers: Record<string, unknown>; rawBody?: string; client?: ClientConfig },
    work: (record?: (a: StoredAnswer) => void) => Promise<StoredAnswer>,
  ): Promise<StoredAnswer> => {
    const key = req.headers['idempotency-key'];
    if (typeof key !== 'string') return work();
    return d.idempotency.run(req.client!.name, key, req.rawBody ?? '', d.now(), (record) => work(record));
  };

  app.post('/v1/sms', { preHandler }, async (req, reply) => {
    const client = req.client!;
    const category = categoryOf(req.body);
    try {
      // A repeat answered from its Idempotency-Key is neither charged to the rate limit nor
      // counted again: only work that runs is.
      let ran = false;
      const answer = await withIdempotency(req, async (record) => {
        ran = true;
        d.rateLimits.check(client, 1);
        const sms = parseSmsRequest(req.body, '', d.timezone?.());
        const accepted = await d.service.submit(sms, client, record === undefined ? undefined : (a) => record({ status: 202, body: a }));
        return { status: 202, body: accepted };
      });
      if (ran) d.metrics.hot.intake(category, 'accepted').inc();
      return reply.code(answer.status).send(answer.body);
    } catch (err) {
      if (err instanceof ApiError) {
        d.metrics.intake.inc({ category, result: err.code });
        d.metrics.refused.inc({ reason: err.code });
      }
      throw err;
    }
  });

  app.post('/v1/sms/batch', { preHandler }, async (req, reply) => {
    const client = req.client!;
    const body = req.body as { messages?: unknown } | undefined;
    if (body === null || typeof body !== 'object' || !Array.isArray(body.messages)) {
      throw new ApiError('bad_request', 'body must be {"messages":[...]}', { field: 'messages' });
    }
    const items = body.messages;
    if (items.length === 0) throw new ApiError('bad_request', 'messages is empty', { field: 'messages' });
    if (items.length > MAX_BATCH) throw new ApiError('batch_too_large', `at most ${MAX_BATCH} messages per batch`, { field: 'messages' });
    const answer = await withIdempotency(req, async (record) => {
      d.rateLimits.check(client, items.length);
      const render = (results: Array<Accepted | ApiError>) => {
        let accepted = 0;
        const out = results.map((r) => {
          if (r instanceof ApiError) return { status: r.status, ...r.toBody() };
          accepted++;
          return r;
        });
        return { accepted, refused: results.length - accepted, results: out };
      };
      const results = await d.service.submitBatch(
        items,
        client,
        (b, prefix) => parseSmsRequest(b, prefix, d.timezone?.()),
        record === undefined ? undefined : (r) => record({ status: 202, body: render(r) }),
      );
      // Counted per category and result, not per item: a batch is up to 1,000 label lookups.
      const counts = new Map<string, { category: string; result: string; n: number }>();
      results.forEach((r, i) => {
        const category = categoryOf(items[i]);
        const result = r instanceof ApiError ? r.code : 'accepted';
        if (r instanceof ApiError) d.metrics.refused.inc({ reason: r.code });
        const key = `${category}\u0000${result}`;
        const c = counts.get(key);
        if (c === undefined) counts.set(key, { category, result, n: 1 });
        else c.n++;
      });
      for (const c of counts.values()) d.metrics.hot.intake(c.category, c.result).inc(c.n);
      return { status: 202, body: render(results) };
    });
    return reply.code(answer.status).send(answer.body);
  });
}
