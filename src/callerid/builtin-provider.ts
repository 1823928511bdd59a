/**
 * The built-in provider adapter: the REST protocol of SPEC 10 over the signed client.
 *   POST   {base}/v1/cards            {numbers[], display_name, logo_png_base64, industry, license_no, contact}
 *   GET    {base}/v1/cards/{card_id}  → {card_id, status, reason?, effective_at?, expires_at?}
 *   PUT    {base}/v1/cards/{card_id}  (same body as POST; back to review)
 *   DELETE {base}/v1/cards/{card_id}  (revoke)
 * Times in answers are ISO 8601 (Unix seconds are accepted too).
 */
import { ProviderError } from './errors.js';
import { SignedClient, type ProviderResponse, type SignedClientOptions } from './http-client.js';
import { CARD_STATUSES, type CallOptions, type CallerIdProvider, type CardFields, type CardStatus, type ProviderCard } from './provider.js';

/** The largest time a JavaScript Date holds, ms either side of 1970. */
const MAX_DATE_MS = 8.64e15;

/**
 * A time in a provider's answer, ms; undefined when absent or beyond what a Date holds
 * (Unix seconds of 1e13, say): kept, it would fail every answer and webhook that shows it.
 */
function time(v: unknown): number | undefined {
  if (typeof v === 'number') {
    const ms = v * 1000;
    return Number.isFinite(ms) && Math.abs(ms) <= MAX_DATE_MS ? ms : undefined;
  }
  if (typeof v === 'string' && v !== '') {
    const t = Date.parse(v);
    if (!Number.isNaN(t)) return t;
  }
  return undefined;
}

export function parseCard(r: ProviderResponse, expectId?: string): ProviderCard {
  const j = r.json;
  const bad = (why: string) => new ProviderError('provider_unavailable', { status: r.status, reason: `unexpected answer: ${why}`, attempts: r.attempts });
  const cardId = j.card_id ?? expectId;
  if (typeof cardId !== 'string' || cardId === '') throw bad('no card_id');
  if (typeof j.status !== 'string' || !(CARD_STATUSES as readonly string[]).includes(j.status)) throw bad('unknown status');
  return {
    cardId,
    status: j.status as CardStatus,
    reason: typeof j.reason === 'string' && j.reason !== '' ? j.reason : undefined,
    effectiveAt: time(j.effective_at),
    expiresAt: time(j.expires_at),
  };
}

export class BuiltinProvider implements CallerIdProvider {
  readonly name = 'builtin';
  readonly #client: SignedClient;

  constructor(opts: SignedClientOptions) {
    this.#client = new SignedClient(opts);
  }

  #path(cardId: string): string {
    return `/v1/cards/${encodeURIComponent(cardId)}`;
  }

  async create(fields: CardFields, requestId: string, opts: CallOptions = {}): Promise<ProviderCard> {
    return parseCard(await this.#client.send({ op: 'create', method: 'POST', path: '/v1/cards', body: fields, requestId, ...opts }));
  }

  async get(cardId: string, requestId: string, opts: CallOptions = {}): Promise<ProviderCard> {
    return parseCard(await this.#client.send({ op: 'get', method: 'GET', path: this.#path(cardId), requestId, ...opts }), cardId);
  }

  async update(cardId: string, fields: CardFields, requestId: string, opts: CallOptions = {}): Promise<ProviderCard> {
    return parseCard(await this.#client.send({ op: 'update', method: 'PUT', path: this.#path(cardId), body: fields, requestId, ...opts }), cardId);
  }

  async revoke(cardId: string, requestId: string, opts: CallOptions = {}): Promise<void> {
    await this.#client.send({ op: 'revoke', method: 'DELETE', path: this.#path(cardId), requestId, ...opts });
  }

  close(): Promise<void> {
    return this.#client.close();
  }
}
