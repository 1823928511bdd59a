/** POST /v1/sms and POST /v1/sms/batch. */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ApiError } from '../domain/errors.js';
import { CATEGORIES } from '../domain/types.js';
import type { ClientConfig } from '../config/schema.js';
import type { Metrics } from '../observability/metrics.js';
import { refuseWhileDraining, requireNotDraining, requireScope } from './http-server.js';
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

/** What an SMS intake request carries once HTTP, JSON and auth are done (main thread or an intake thread). */
export interface SmsIntakeRequest {
  client: ClientConfig;
  idempotencyKey: string | undefined;
  rawBody: string;
  body: unknown;
}

/**
 * POST /v1/sms and /v1/sms/batch past the HTTP layer: rate limit, Idempotency-Key, parse,
 * submit, metrics. The routes below call these on the main thread; intake threads hand
 * them the same request (src/intake/threads/), so both paths answer alike.
 */
export interface SmsIntake {
  one(r: SmsIntakeRequest): Promise<StoredAnswer>;
  batch(r: SmsIntakeRequest): Promise<StoredAnswer>;
}

export function createSmsIntake(d: SmsRoutesDeps): SmsIntake {
  const withIdempotency = async (r: SmsIntakeRequest, work: (record?: (a: StoredAnswer) => void) => Promise<StoredAnswer>): Promise<StoredAnswer> => {
    if (r.idempotencyKey === undefined) return work();
    return d.idempotency.run(r.client.name, r.idempotencyKey, r.rawBody, d.now(), (record) => work(record));
  };
  // Checked here too: an intake thread hands requests over without the route's preHandler.
  const notDraining = () => refuseWhileDraining(d.isDraining);

  return {
    async one(r) {
      notDraining();
      const client = r.client;
      const category = categoryOf(r.body);
      try {
        // A repeat answered from its Idempotency-Key is neither charged to the rate limit nor
        // counted again: only work that runs is.
        let ran = false;
        const answer = await withIdempotency(r, async (record) => {
          ran = true;
          d.rateLimits.check(client, 1);
          const sms = parseSmsRequest(r.body, '', d.timezone?.());
          const accepted = await d.service.submit(sms, client, record === undefined ? undefined : (a) => record({ status: 202, body: a }));
          return { status: 202, body: accepted };
        });
        if (ran) d.metrics.hot.intake(category, 'accepted').inc();
        return answer;
      } catch (err) {
        if (err instanceof ApiError) {
          d.metrics.intake.inc({ category, result: err.code });
          d.metrics.refused.inc({ reason: err.code });
        }
        throw err;
      }
    },

    async batch(r) {
      notDraining();
      const client = r.client;
      const body = r.body as { messages?: unknown } | undefined;
      if (body === null || typeof body !== 'object' || !Array.isArray(body.messages)) {
        throw new ApiError('bad_request', 'body must be {"messages":[...]}', { field: 'messages' });
      }
      const items = body.messages;
      if (items.length === 0) throw new ApiError('bad_request', 'messages is empty', { field: 'messages' });
      if (items.length > MAX_BATCH) throw new ApiError('batch_too_large', `at most ${MAX_BATCH} messages per batch`, { field: 'messages' });
      return withIdempotency(r, async (record) => {
        d.rateLimits.check(client, items.length);
        const render = (results: Array<Accepted | ApiError>) => {
          let accepted = 0;
          const out = results.map((x) => {
            if (x instanceof ApiError) return { status: x.status, ...x.toBody() };
            accepted++;
            return x;
          });
          return { accepted, refused: results.length - accepted, results: out };
        };
        const results = await d.service.submitBatch(
          items,
          client,
          (b, prefix) => parseSmsRequest(b, prefix, d.timezone?.()),
          record === undefined ? undefined : (x) => record({ status: 202, body: render(x) }),
        );
        // Counted per category and result, not per item: a batch is up to 1,000 label lookups.
        const counts = new Map<string, { category: string; result: string; n: number }>();
        results.forEach((x, i) => {
          const category = categoryOf(items[i]);
          const result = x instanceof ApiError ? x.code : 'accepted';
          if (x instanceof ApiError) d.metrics.refused.inc({ reason: x.code });
          const key = `${category}\u0000${result}`;
          const c = counts.get(key);
          if (c === undefined) counts.set(key, { category, result, n: 1 });
          else c.n++;
        });
        for (const c of counts.values()) d.metrics.hot.intake(c.category, c.result).inc(c.n);
        return { status: 202, body: render(results) };
      });
    },
  };
}

/** The idempotency key a request names, if any (a repeated header arrives as an array: refused by its length check). */
export function idempotencyKeyOf(headers: Record<string, unknown>): string | undefined {
  const key = headers['idempotency-key'];
  return typeof key === 'string' ? key : undefined;
}

export function registerSmsRoutes(app: FastifyInstance, d: SmsRoutesDeps, intake: SmsIntake = createSmsIntake(d)): SmsIntake {
  const preHandler = [requireNotDraining(d.isDraining), requireScope(d.clients, 'sms')];
  const request = (req: FastifyRequest): SmsIntakeRequest => ({
    client: req.client!,
    idempotencyKey: idempotencyKeyOf(req.headers),
    rawBody: req.rawBody ?? '',
    body: req.body,
  });
  app.post('/v1/sms', { preHandler }, async (req, reply) => {
    const answer = await intake.one(request(req));
    return reply.code(answer.status).send(answer.body);
  });
  app.post('/v1/sms/batch', { preHandler }, async (req, reply) => {
    const answer = await intake.batch(request(req));
    return reply.code(answer.status).send(answer.body);
  });
  return intake;
}
