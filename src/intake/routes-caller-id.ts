/**
 * Caller-ID endpoints (SPEC 3, 10), scope `callerid`:
 *   POST   /v1/caller-id            register a card → 202 (stored; `pending` while the provider has not confirmed)
 *   GET    /v1/caller-id/{id}       → 200, 404 for an unknown id
 *   GET    /v1/caller-id?number=    registrations listing this E.164 number
 *   PUT    /v1/caller-id/{id}       change fields (back to review) → 202
 *   DELETE /v1/caller-id/{id}       revoke → 200 revoked, or 202 while the provider has not confirmed
 * A token without scope admin sees its own registrations only. The JSON schemas below are
 * the routes' validation and their documentation (OpenAPI); a body of the wrong shape is a
 * 400 naming the field, a failed check (length, E.164, the organisation's numbers, PNG) a 422.
 */
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest, FastifySchema } from 'fastify';
import { createHash } from 'node:crypto';
import { ApiError } from '../domain/errors.js';
import type { ClientConfig } from '../config/schema.js';
import type { CallerIdService, OperationResult } from '../callerid/service.js';
import type { Registration } from '../callerid/store.js';
import { requireNotDraining, requireScope } from './http-server.js';

export interface CallerIdRoutesDeps {
  service: CallerIdService;
  clients: () => readonly ClientConfig[];
  isDraining: () => boolean;
}

const iso = (t: number | null) => (t === null ? null : new Date(t).toISOString());

export function renderRegistration(r: Registration): Record<string, unknown> {
  return {
    id: r.id,
    card_id: r.cardId,
    status: r.status,
    reason: r.reason,
    pending: r.pendingOp,
    last_error: r.lastError,
    numbers: r.numbers,
    display_name: r.displayName,
    industry: r.industry,
    license_no: r.licenseNo,
    contact: r.contact,
    logo: { bytes: r.logo.length, sha256: createHash('sha256').update(r.logo).digest('hex') },
    effective_at: iso(r.effectiveAt),
    expires_at: iso(r.expiresAt),
    created_at: iso(r.createdAt),
    updated_at: iso(r.updatedAt),
  };
}

const str = { type: 'string' } as const;
const nullableStr = { type: ['string', 'null'] } as const;
const cardProperties = {
  numbers: { type: 'array', items: str, maxItems: 100, description: 'E.164 numbers, each one of caller_id.numbers' },
  display_name: { ...str, description: 'Name shown on the phone; caller_id.display_name.min..max characters' },
  logo_png_base64: { ...str, description: 'PNG, base64; within caller_id.logo limits' },
  industry: str,
  license_no: str,
  contact: str,
} as const;
const errorSchema = {
  type: 'object',
  properties: { error: { type: 'object', properties: { code: str, message: str, field: str }, required: ['code', 'message'] } },
} as const;
const registrationSchema = {
  type: 'object',
  properties: {
    id: str,
    card_id: nullableStr,
    status: {
      type: 'string',
      enum: ['submitting', 'pending_review', 'approved', 'rejected', 'active', 'suspended', 'expired', 'refused', 'revoked'],
    },
    reason: nullableStr,
    pending: { type: ['string', 'null'], enum: ['create', 'update', 'delete', null] },
    last_error: nullableStr,
    numbers: { type: 'array', items: str },
    display_name: str,
    industry: str,
    license_no: str,
    contact: str,
    logo: { type: 'object', properties: { bytes: { type: 'integer' }, sha256: str } },
    effective_at: nullableStr,
    expires_at: nullableStr,
    created_at: str,
    updated_at: str,
  },
} as const;
const idParams = { type: 'object', properties: { id: str }, required: ['id'] } as const;
const errors = { '4xx': errorSchema, '5xx': errorSchema } as const;
/** `summary` is for the OpenAPI document; fastify itself ignores it. */
const schema = (s: FastifySchema & { summary: string }): FastifySchema => s;

/** A schema failure as the API's error, naming the field (`numbers[1]`, `display_name`). */
function validationError(err: FastifyError & { validation?: Array<{ instancePath?: string; params?: Record<string, unknown> }> }): ApiError {
  const v = err.validation?.[0];
  const path = (v?.instancePath ?? '').split('/').filter(Boolean);
  const missing = v?.params?.missingProperty;
  if (typeof missing === 'string') path.push(missing);
  const field = path.reduce((acc, p) => (/^\d+$/.test(p) ? `${acc}[${p}]` : acc === '' ? p : `${acc}.${p}`), '');
  return new ApiError('invalid_field', err.message, field === '' ? {} : { field });
}

function checkValid(req: FastifyRequest): void {
  const e = (req as FastifyRequest & { validationError?: FastifyError }).validationError;
  if (e !== undefined) throw validationError(e);
}

const answer = (reply: FastifyReply, res: OperationResult, doneCode = 202) =>
  reply.code(res.deferred ? 202 : doneCode).send(renderRegistration(res.registration));

export function registerCallerIdRoutes(app: FastifyInstance, d: CallerIdRoutesDeps): void {
  const auth = requireScope(d.clients, 'callerid');
  const write = [auth, requireNotDraining(d.isDraining)];
  const owner = (c: ClientConfig) => (c.scopes.includes('admin') ? undefined : c.name);

  app.post(
    '/v1/caller-id',
    {
      preHandler: write,
      attachValidation: true,
      schema: schema({
        summary: 'Register a caller-ID card',
        body: { type: 'object', properties: cardProperties, required: Object.keys(cardProperties) },
        response: { 202: registrationSchema, ...errors },
      }),
    },
    async (req, reply) => {
      checkValid(req);
      return answer(reply, await d.service.create(req.client!.name, req.body as Record<string, unknown>));
    },
  );

  app.get<{ Params: { id: string } }>(
    '/v1/caller-id/:id',
    { preHandler: auth, schema: schema({ summary: 'A caller-ID registration', params: idParams, response: { 200: registrationSchema, ...errors } }) },
    async (req) => renderRegistration(d.service.get(req.params.id, owner(req.client!))),
  );

  app.get<{ Querystring: { number?: string; limit?: number; before?: string } }>(
    '/v1/caller-id',
    {
      preHandler: auth,
      attachValidation: true,
      schema: schema({
        summary: 'Caller-ID registrations, newest first; with number: those listing it',
        querystring: {
          type: 'object',
          properties: { number: { ...str, description: 'E.164 (write + as %2B)' }, limit: { type: 'integer', minimum: 1, maximum: 100 }, before: str },
        },
        response: { 200: { type: 'object', properties: { items: { type: 'array', items: registrationSchema } } }, ...errors },
      }),
    },
    async (req) => {
      checkValid(req);
      let number = req.query.number;
      if (number !== undefined) {
        // A + left unescaped in a query string arrives as a space.
        number = number.trim().replace(/^(?=\d)/, '+');
        if (!/^\+[1-9]\d{6,14}$/.test(number)) throw new ApiError('invalid_caller_id', 'number must be in E.164', { field: 'number' });
      }
      const items = d.service.list(owner(req.client!), number, req.query.limit ?? 100, req.query.before);
      return { items: items.map(renderRegistration) };
    },
  );

  app.put<{ Params: { id: string } }>(
    '/v1/caller-id/:id',
    {
      preHandler: write,
      attachValidation: true,
      schema: schema({
        summary: 'Change a caller-ID card (it goes back to review); absent fields keep their value',
        params: idParams,
        body: { type: 'object', properties: cardProperties, minProperties: 1 },
        response: { 202: registrationSchema, ...errors },
      }),
    },
    async (req, reply) => {
      checkValid(req);
      return answer(reply, await d.service.update(req.params.id, owner(req.client!), req.body as Record<string, unknown>));
    },
  );

  app.delete<{ Params: { id: string } }>(
    '/v1/caller-id/:id',
    {
      preHandler: write,
      schema: schema({ summary: 'Revoke a caller-ID card', params: idParams, response: { 200: registrationSchema, 202: registrationSchema, ...errors } }),
    },
    async (req, reply) => answer(reply, await d.service.remove(req.params.id, owner(req.client!)), 200),
  );
}
