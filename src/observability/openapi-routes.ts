/**
 * The HTTP API's schemas for the OpenAPI document (issue 20.1), by `METHOD /path` in
 * fastify's path syntax. A route that carries its own fastify `schema` is documented from
 * that; the rest from this table. The table documents and does not validate: the routes keep
 * their own validation and error answers (validate.ts), and test/ops/openapi.test.ts sends
 * the README's examples to a running app and checks the answers against these schemas.
 */

type Json = Record<string, unknown>;

const str = (description?: string, extra: Json = {}): Json => ({ type: 'string', ...(description ? { description } : {}), ...extra });
const int = (description?: string, extra: Json = {}): Json => ({ type: 'integer', ...(description ? { description } : {}), ...extra });
const nullable = (s: Json): Json => ({ ...s, type: [s.type as string, 'null'] });
const obj = (properties: Record<string, Json>, required: string[] = [], extra: Json = {}): Json => ({
  type: 'object',
  properties,
  ...(required.length > 0 ? { required } : {}),
  ...extra,
});

const PHONE = str('Phone number: +8613800138000, 8613800138000 or 13800138000 (stored as E.164).', { examples: ['13800138000'] });
const CATEGORY = str('Decides the lane.', { enum: ['otp', 'notification', 'collection', 'marketing'] });
const TIMESTAMP = nullable(str(undefined, { format: 'date-time' }));

const ERROR = obj(
  {
    error: obj(
      {
        code: str('Stable snake_case code (the error catalogue).'),
        message: str('What went wrong, for a person.'),
        field: str('The request field at fault, as a path.'),
      },
      ['code', 'message'],
    ),
  },
  ['error'],
);

const ERROR_TEXT: Record<number, string> = {
  400: 'Malformed JSON, a bad field, a bad phone number, text over max_segments.',
  401: 'No bearer token, or an unknown one.',
  403: 'The token lacks the scope or category.',
  404: 'Unknown id.',
  409: 'Same Idempotency-Key with a different body.',
  413: 'Body over the limit (http.max_body_bytes, 1 MiB by default).',
  415: 'Body is not application/json.',
  422: 'Policy refused: opted out, template not approved, content lint, no route, quiet hours.',
  429: 'Rate or frequency cap; Retry-After is set.',
  503: 'Draining, or the lane is over its depth limit; Retry-After is set.',
};

function errors(...codes: number[]): Record<number, Json> {
  return Object.fromEntries(codes.map((c) => [c, { description: ERROR_TEXT[c] ?? 'Error.', ...ERROR }]));
}

const SMS_REQUEST = obj(
  {
    to: PHONE,
    text: str('Free text (clients with free_text); give text or template.', { minLength: 1, maxLength: 10000 }),
    template: str('Template id; give text or template.', { maxLength: 128 }),
    params: { type: 'object', description: 'Template parameters.', additionalProperties: { type: ['string', 'number'] } },
    category: CATEGORY,
    from: str('Source extension appended to the carrier service code.', { pattern: '^[0-9]{1,21}$' }),
    send_at: { type: ['string', 'number'], description: 'ISO 8601 timestamp or Unix seconds.' },
    validity_s: int(undefined, { minimum: 1, maximum: 604800 }),
    reference: str('Caller reference (cancel by reference).', { maxLength: 128 }),
    callback_url: str('Webhook URL for this message.', { maxLength: 2048 }),
    overdue_days: int('For collection templates.', { minimum: 0 }),
  },
  ['to', 'category'],
  { additionalProperties: false },
);

const ACCEPTED = obj(
  {
    id: str(),
    status: str(undefined, { enum: ['queued', 'scheduled'] }),
    segments: int(),
    encoding: str(undefined, { enum: ['gsm7', 'ucs2', 'latin1'] }),
  },
  ['id', 'status', 'segments', 'encoding'],
);

const MESSAGE = obj(
  {
    id: str(),
    status: str(),
    category: CATEGORY,
    to: str('E.164.'),
    carrier: nullable(str()),
    encoding: str(),
    segments: int(),
    reference: nullable(str()),
    template: nullable(str()),
    variant: nullable(str()),
    stage: nullable(str()),
    error_code: nullable(str()),
    error_text: nullable(str()),
    send_at: TIMESTAMP,
    expires_at: TIMESTAMP,
    timestamps: obj(Object.fromEntries(['created', 'queued', 'scheduled', 'submitting', 'submitted', 'final'].map((k) => [k, TIMESTAMP]))),
    parts: {
      type: 'array',
      items: obj({
        seq: int(),
        status: str(),
        carrier: nullable(str()),
        carrier_message_id: nullable(str()),
        attempts: int(),
        dlr_stat: nullable(str()),
        dlr_err: nullable(str()),
        error_code: nullable(str()),
        submitted_at: TIMESTAMP,
        final_at: TIMESTAMP,
      }),
    },
  },
  ['id', 'status', 'parts'],
);

const CANCEL_RESULT = {
  canceled: { type: 'array', items: str() },
  on_wire: { type: 'array', items: str() },
  final: { type: 'array', items: obj({ id: str(), status: str('The final state it had already reached.') }, ['id', 'status']) },
  not_found: { type: 'array', items: str() },
};

const REPLY = obj(
  {
    id: str(),
    from: str('The sender, E.164.'),
    to: str('The address it was sent to: service code and extension.'),
    carrier: str(),
    client: nullable(str()),
    text: str(),
    intent: nullable(str('paid, hardship, callback, dispute, … (policy.intents).')),
    opt_out: { type: 'boolean' },
    partial: { type: 'boolean', description: 'Parts of a multipart reply never all came.' },
    last_message_id: nullable(str()),
    received_at: str(undefined, { format: 'date-time' }),
  },
  ['id', 'from', 'to', 'carrier', 'text', 'received_at'],
);

const OPTOUT = obj({ number: str('E.164.'), opted_out: { type: 'boolean' } }, ['number', 'opted_out']);
const NUMBER_PARAM = obj({ number: PHONE }, ['number']);
const ID_PARAM = obj({ id: str() }, ['id']);
const CARRIER_STATE = obj({ id: str(), paused: { type: 'boolean' } }, ['id', 'paused']);

const IDEMPOTENCY = obj({ 'idempotency-key': str('A repeat with the same key and body returns the first answer.') });

export interface RouteDoc {
  summary: string;
  tags: string[];
  description?: string;
  security?: Array<Record<string, string[]>>;
  headers?: Json;
  params?: Json;
  querystring?: Json;
  body?: Json;
  response: Record<number, Json>;
}

const scoped = (scope: string, d: Omit<RouteDoc, 'security' | 'description'> & { description?: string }): RouteDoc => ({
  ...d,
  description: `Scope \`${scope}\`.${d.description ? ` ${d.description}` : ''}`,
  security: [{ bearer: [] }],
});

export const ROUTE_DOCS: Record<string, RouteDoc> = {
  'GET /v1/replies': scoped('sms', {
    summary: 'Replies (MO) in arrival order, with cursor pagination',
    description: 'Scope `sms` sees its own client\'s replies; `admin` sees all and may narrow with `client`.',
    tags: ['replies'],
    querystring: obj({
      number: PHONE,
      since: str('From this instant (ISO 8601; without an offset, in policy.timezone).'),
      until: str('Before this instant.'),
      intent: str('An intent of policy.intents, or none.'),
      cursor: str('next_cursor of the previous page.'),
      limit: int(undefined, { minimum: 1, maximum: 500, default: 100 }),
      client: str('admin only: one client\'s replies.'),
    }),
    response: {
      200: { description: 'A page of replies.', ...obj({ replies: { type: 'array', items: REPLY }, next_cursor: nullable(str()), has_more: { type: 'boolean' } }, ['replies', 'next_cursor', 'has_more']) },
      ...errors(400, 401, 403),
    },
  }),
  'POST /v1/sms': scoped('sms', {
    summary: 'Send one SMS',
    description: '`category: otp` needs scope `otp`. 202 once the message is committed to the store.',
    tags: ['sms'],
    headers: IDEMPOTENCY,
    body: SMS_REQUEST,
    response: { 202: { description: 'Accepted: durably stored.', ...ACCEPTED }, ...errors(400, 401, 403, 409, 413, 422, 429, 503) },
  }),
  'POST /v1/sms/batch': scoped('sms', {
    summary: 'Send up to 1,000 SMS, each accepted or refused on its own',
    tags: ['sms'],
    headers: IDEMPOTENCY,
    body: obj({ messages: { type: 'array', items: SMS_REQUEST, minItems: 1, maxItems: 1000 } }, ['messages'], { additionalProperties: false }),
    response: {
      202: {
        description: 'One result per item, in order: an accepted message or an error with its status.',
        ...obj(
          {
            accepted: int(),
            refused: int(),
            results: { type: 'array', items: { anyOf: [ACCEPTED, obj({ status: int(), error: (ERROR.properties as Json).error as Json }, ['status', 'error'])] } },
          },
          ['accepted', 'refused', 'results'],
        ),
      },
      ...errors(400, 401, 403, 409, 413, 429, 503),
    },
  }),
  'GET /v1/messages/:id': scoped('sms` or `mms', {
    summary: 'A message: status, carrier, per-part carrier ids and receipts, timestamps',
    description: 'A client without `admin` sees its own messages only.',
    tags: ['messages'],
    params: ID_PARAM,
    response: { 200: { description: 'The message.', ...MESSAGE }, ...errors(401, 403, 404) },
  }),
  'DELETE /v1/messages/:id': scoped('sms` or `mms', {
    summary: 'Cancel a message still queued or scheduled',
    tags: ['messages'],
    params: ID_PARAM,
    response: { 200: { description: 'What was canceled, and what was already on the wire.', ...obj(CANCEL_RESULT) }, ...errors(401, 403, 404) },
  }),
  'POST /v1/messages/cancel': scoped('sms` or `mms', {
    summary: 'Cancel every message with this reference still queued or scheduled',
    tags: ['messages'],
    body: obj({ reference: str(undefined, { minLength: 1, maxLength: 128 }) }, ['reference'], { additionalProperties: false }),
    response: { 200: { description: 'Per id: canceled, on_wire or not_found.', ...obj({ reference: str(), ...CANCEL_RESULT }) }, ...errors(400, 401, 403) },
  }),
  'POST /v1/otp': scoped('otp', {
    summary: 'Generate and send a verification code',
    description: 'The code is never returned, logged or stored in clear.',
    tags: ['otp'],
    body: obj(
      {
        to: PHONE,
        purpose: str('What the code is for (login, repay, …).', { maxLength: 64 }),
        template: str('An otp template; default policy.otp.template.', { maxLength: 128 }),
        length: int(undefined, { minimum: 4, maximum: 10, default: 6 }),
        ttl_s: int(undefined, { minimum: 60, maximum: 600, default: 300 }),
        reference: str(undefined, { maxLength: 128 }),
      },
      ['to', 'purpose'],
      { additionalProperties: false },
    ),
    response: {
      202: {
        description: 'Sent (stored and queued in the otp lane).',
        ...obj({ id: str(), expires_at: str(undefined, { format: 'date-time' }), resend_after: str(undefined, { format: 'date-time' }) }, ['id', 'expires_at', 'resend_after']),
      },
      ...errors(400, 401, 403, 422, 429, 503),
    },
  }),
  'POST /v1/otp/verify': scoped('otp', {
    summary: 'Check a code, by OTP id or by number and purpose',
    tags: ['otp'],
    body: obj(
      { id: str(), to: PHONE, purpose: str(undefined, { maxLength: 64 }), code: str('Digits, as a string.', { pattern: '^[0-9]{1,16}$' }) },
      ['code'],
      { additionalProperties: false },
    ),
    response: {
      200: {
        description: 'valid, or the reason it is not.',
        ...obj({ valid: { type: 'boolean' }, reason: str(undefined, { enum: ['mismatch', 'expired', 'used', 'too_many_attempts', 'not_found'] }) }, ['valid']),
      },
      ...errors(400, 401, 403),
    },
  }),
  'GET /v1/optouts': scoped('admin', {
    summary: 'The opt-out list, in pages',
    tags: ['optouts'],
    querystring: obj({ after: str('The last number of the previous page.'), limit: int(undefined, { minimum: 1, maximum: 1000, default: 100 }) }),
    response: {
      200: {
        description: 'A page of opted-out numbers.',
        ...obj({ optouts: { type: 'array', items: obj({ number: str(), source: str(), created_at: str(undefined, { format: 'date-time' }) }) } }, ['optouts']),
      },
      ...errors(400, 401, 403),
    },
  }),
  'GET /v1/optouts/:number': scoped('admin', {
    summary: 'Is this number opted out?',
    tags: ['optouts'],
    params: NUMBER_PARAM,
    response: { 200: { description: 'On the list.', ...OPTOUT }, ...errors(400, 401, 403, 404) },
  }),
  'POST /v1/optouts': scoped('admin', {
    summary: 'Add a number to the opt-out list',
    tags: ['optouts'],
    body: obj({ number: PHONE }, ['number'], { additionalProperties: false }),
    response: { 200: { description: 'Already on the list.', ...OPTOUT }, 201: { description: 'Added.', ...OPTOUT }, ...errors(400, 401, 403) },
  }),
  'DELETE /v1/optouts/:number': scoped('admin', {
    summary: 'Remove a number from the opt-out list',
    tags: ['optouts'],
    params: NUMBER_PARAM,
    response: { 200: { description: 'Removed.', ...OPTOUT }, ...errors(400, 401, 403, 404) },
  }),
  'GET /v1/admin/carriers': scoped('admin', {
    summary: 'Carriers: binds, states, window in flight, current rate, queue by lane',
    tags: ['admin'],
    response: {
      200: {
        description: 'Live state.',
        ...obj(
          {
            queue: { type: 'object', additionalProperties: int() },
            carriers: {
              type: 'array',
              items: obj({
                id: str(),
                paused: { type: 'boolean' },
                up: { type: 'boolean' },
                current_tps: { type: 'number' },
                configured_tps: { type: 'number' },
                window: int(),
                in_flight: int(),
                binds: { type: 'array', items: obj({ index: int(), mode: str(), state: str(), in_flight: int(), window: int() }) },
              }),
            },
          },
          ['queue', 'carriers'],
        ),
      },
      ...errors(401, 403),
    },
  }),
  'POST /v1/admin/carriers/:id/pause': scoped('admin', {
    summary: 'Stop sending to a carrier without dropping its binds',
    description: 'Its traffic fails over or waits.',
    tags: ['admin'],
    params: ID_PARAM,
    response: { 200: { description: 'Paused.', ...CARRIER_STATE }, ...errors(401, 403, 404) },
  }),
  'POST /v1/admin/carriers/:id/resume': scoped('admin', {
    summary: 'Resume sending to a paused carrier',
    tags: ['admin'],
    params: ID_PARAM,
    response: { 200: { description: 'Resumed.', ...CARRIER_STATE }, ...errors(401, 403, 404) },
  }),
  'GET /healthz': {
    summary: 'Process alive',
    tags: ['probes'],
    response: { 200: { description: 'Alive.', ...obj({ status: str(undefined, { const: 'ok' }) }, ['status']) } },
  },
  'GET /readyz': {
    summary: 'Ready for traffic: store open, a carrier bound, every required carrier bound',
    tags: ['probes'],
    response: {
      200: { description: 'Ready.', ...obj({ ready: { type: 'boolean' }, reasons: { type: 'array', items: str() } }, ['ready', 'reasons']) },
      503: { description: 'Not ready, with the reasons.', ...obj({ ready: { type: 'boolean' }, reasons: { type: 'array', items: str() } }, ['ready', 'reasons']) },
    },
  },
  'GET /metrics': {
    summary: 'Prometheus metrics (text exposition format)',
    tags: ['probes'],
    response: { 200: { description: 'Prometheus text.', content: { 'text/plain': { schema: str() } } } },
  },
};
