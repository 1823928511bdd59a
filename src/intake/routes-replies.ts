/**
 * GET /v1/replies (SPEC 3): replies (MO) in arrival order with cursor pagination, filtered
 * by number, time range and intent. Scope sms sees its own client's replies; admin sees all
 * (and may narrow to one client). The cursor is opaque to callers: the last reply's id.
 */
import type { FastifyInstance } from 'fastify';
import { ApiError } from '../domain/errors.js';
import { normalizeMsisdn } from '../domain/msisdn.js';
import type { ClientConfig, Config } from '../config/schema.js';
import type { AuxStore, MoQuery, MoRecord } from '../store/types.js';
import { isOptOutKeyword } from '../policy/keywords.js';
import { requireScope } from './http-server.js';
import { intParam, singleParams } from './query.js';
import { parseInstant } from './time-input.js';

export interface ReplyRoutesDeps {
  aux: AuxStore;
  config: () => Config;
  clients: () => readonly ClientConfig[];
}

const PARAMS = ['number', 'since', 'until', 'intent', 'cursor', 'limit', 'client'] as const;

const encodeCursor = (id: string) => Buffer.from(id, 'utf8').toString('base64url');
function decodeCursor(c: string): string {
  const id = Buffer.from(c, 'base64url').toString('utf8');
  if (!/^mo_[0-9a-z]{11}[A-Za-z0-9_-]{10}$/.test(id)) throw new ApiError('invalid_field', 'cursor is not one this API gave out', { field: 'cursor' });
  return id;
}

function render(r: MoRecord, cfg: Config): Record<string, unknown> {
  return {
    id: r.id,
    from: r.from,
    to: r.to,
    carrier: r.carrierId,
    client: r.client,
    text: r.body,
    intent: r.intent,
    opt_out: isOptOutKeyword(r.body, cfg.policy.optout.keywords),
    partial: r.partial,
    last_message_id: r.lastMessageId,
    received_at: new Date(r.createdAt).toISOString(),
  };
}

export function registerReplyRoutes(app: FastifyInstance, d: ReplyRoutesDeps): void {
  app.get('/v1/replies', { preHandler: requireScope(d.clients, 'sms') }, async (req) => {
    const cfg = d.config();
    const client = req.client!;
    const p = singleParams(req.query, PARAMS);
    const admin = client.scopes.includes('admin');
    if (p.client !== undefined && !admin) throw new ApiError('forbidden', 'only scope admin may ask for another client\'s replies', { field: 'client' });
    const q: MoQuery = { limit: intParam(p, 'limit', 1, 500, 100) };
    q.client = admin ? p.client : client.name;
    if (p.number !== undefined) q.from = normalizeMsisdn(p.number, cfg.policy.allowed_countries, 'number');
    q.since = parseInstant(p.since, 'since', cfg.policy.timezone);
    q.until = parseInstant(p.until, 'until', cfg.policy.timezone);
    if (q.since !== undefined && q.until !== undefined && q.since >= q.until) throw new ApiError('invalid_field', 'since must be before until', { field: 'until' });
    if (p.intent !== undefined) {
      const known = Object.keys(cfg.policy.intents);
      if (p.intent !== 'none' && !known.includes(p.intent)) {
        throw new ApiError('invalid_field', `intent must be one of ${[...known, 'none'].join(', ')}`, { field: 'intent' });
      }
      q.intent = p.intent === 'none' ? null : p.intent;
    }
    if (p.cursor !== undefined) q.afterId = decodeCursor(p.cursor);
    const rows = d.aux.listMo(q);
    const last = rows[rows.length - 1];
    return {
      replies: rows.map((r) => render(r, cfg)),
      // Where the next page starts; also where a poller resumes once new replies arrive.
      next_cursor: last === undefined ? (p.cursor ?? null) : encodeCursor(last.id),
      has_more: rows.length === q.limit,
    };
  });
}
