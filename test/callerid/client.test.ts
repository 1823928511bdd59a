/**
 * Issue 18, points 1, 2, 6, 7: the built-in provider adapter and its signed undici client
 * against the provider simulator over loopback: a wrong secret, a stale timestamp, a replayed
 * nonce and a tampered body are refused (401); 429 and 503 are retried with backoff that
 * honours Retry-After and with the same X-Request-Id; a lost answer makes one card; 4xx
 * surfaces the provider's reason; a silent peer times out.
 */
import t from 'tap';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { request } from 'undici';
import { BuiltinProvider } from '../../src/callerid/builtin-provider.js';
import { ProviderError } from '../../src/callerid/errors.js';
import { signRequest } from '../../src/callerid/signing.js';
import type { CardFields } from '../../src/callerid/provider.js';
import { parseRetryAfter } from '../../src/callerid/http-client.js';
import { APP_KEY, APP_SECRET, Clock, cardBody, startProviderSim } from './helpers.js';

type T = { teardown(fn: () => unknown): void };

function provider(t: T, baseUrl: string, o: { secret?: string; now?: () => number; sleeps?: number[]; maxAttempts?: number; timeoutMs?: number; maxMs?: number } = {}) {
  const p = new BuiltinProvider({
    baseUrl,
    appKey: APP_KEY,
    appSecret: o.secret ?? APP_SECRET,
    timeoutMs: o.timeoutMs ?? 3000,
    maxAttempts: o.maxAttempts ?? 4,
    backoff: { initialMs: 100, maxMs: o.maxMs ?? 30000 },
    ...(o.now ? { now: o.now } : {}),
    // Backoff is recorded, not waited: the test asserts the delays asked for.
    sleep: async (ms) => {
      o.sleeps?.push(ms);
    },
  });
  t.teardown(() => p.close());
  return p;
}

const fields = (over: Record<string, unknown> = {}) => cardBody(over) as unknown as CardFields;

t.test('create, get, update, revoke: the card moves pending_review -> approved -> active on the simulator clock', async (t) => {
  const clock = new Clock();
  const sim = await startProviderSim(t, { now: clock.now, reviewMs: 60_000, activateMs: 30_000, validityDays: 365 });
  const p = provider(t, sim.baseUrl, { now: clock.now });
  const card = await p.create(fields(), 'req-create-1');
  t.match(card, { cardId: /^card_/, status: 'pending_review' });
  t.equal((await p.get(card.cardId, 'req-get-1')).status, 'pending_review');
  clock.advance(60_000);
  t.equal((await p.get(card.cardId, 'req-get-2')).status, 'approved');
  clock.advance(30_000);
  const active = await p.get(card.cardId, 'req-get-3');
  t.equal(active.status, 'active');
  t.equal(active.effectiveAt, clock.t);
  t.equal(active.expiresAt, clock.t + 365 * 86_400_000);
  const upd = await p.update(card.cardId, fields({ display_name: '信鸽金融客服' }), 'req-upd-1');
  t.equal(upd.status, 'pending_review', 'an update goes back to review');
  t.equal(sim.cards()[0]!.fields.display_name, '信鸽金融客服');
  await p.revoke(card.cardId, 'req-del-1');
  t.equal(sim.cards().length, 0);
  await t.rejects(p.get(card.cardId, 'req-get-4'), { code: 'provider_refused', status: 404, reason: 'unknown card' });
  t.same(sim.requests.map((r) => r.status), [201, 200, 200, 200, 200, 200, 404]);
  t.ok(sim.requests.every((r) => r.target.startsWith('/callerid/v1/cards')), 'base path in every target');
});

t.test('a wrong secret, a stale timestamp, a replayed nonce and a tampered body get 401 with the reason', async (t) => {
  const clock = new Clock();
  const sim = await startProviderSim(t, { now: clock.now });
  const wrong = provider(t, sim.baseUrl, { secret: 'not-the-secret', now: clock.now });
  const e1 = await wrong.create(fields(), 'req-w').catch((e: unknown) => e);
  t.ok(e1 instanceof ProviderError);
  t.match(e1, { code: 'provider_auth_failed', status: 401, reason: 'signature does not match', providerCode: 'bad_signature', attempts: 1 }, 'not retried');

  const late = provider(t, sim.baseUrl, { now: () => clock.t - 301_000 });
  await t.rejects(late.create(fields(), 'req-l'), { code: 'provider_auth_failed', providerCode: 'stale_timestamp' });
  const early = provider(t, sim.baseUrl, { now: () => clock.t + 301_000 });
  await t.rejects(early.create(fields(), 'req-e'), { code: 'provider_auth_failed', providerCode: 'stale_timestamp' });
  const skewed = provider(t, sim.baseUrl, { now: () => clock.t - 290_000 });
  t.equal((await skewed.create(fields(), 'req-s')).status, 'pending_review', '290 s off is within the window');

  // One signed request, sent twice as captured.
  const body = Buffer.from(JSON.stringify(fields({ numbers: ['+8657188880001'] })));
  const target = '/callerid/v1/cards';
  const ts = String(Math.floor(clock.t / 1000));
  const headers = {
    'x-app-key': APP_KEY, 'x-request-id': 'req-replay', 'x-timestamp': ts, 'x-nonce': 'nonce-replay-1', 'content-type': 'application/json',
    'x-signature': signRequest(APP_SECRET, { method: 'POST', path: target, timestamp: ts, nonce: 'nonce-replay-1', body }),
  };
  const send = async (b: Buffer, h: Record<string, string> = headers) => {
    const r = await request(`${sim.baseUrl}/v1/cards`, { method: 'POST', headers: h, body: b });
    return { status: r.statusCode, json: (await r.body.json()) as Record<string, unknown> };
  };
  t.equal((await send(body)).status, 201, 'first delivery accepted');
  const replay = await send(body);
  t.same(replay, { status: 401, json: { code: 'replayed_nonce', reason: 'nonce already used' } }, 'the same request again is refused');
  clock.advance(601_000);
  t.equal((await send(body)).json.code, 'stale_timestamp', 'after 10 minutes the captured timestamp is stale too');
  const ts2 = String(Math.floor(clock.t / 1000));
  const sig2 = signRequest(APP_SECRET, { method: 'POST', path: target, timestamp: ts2, nonce: 'nonce-2', body });
  const tampered = Buffer.from(body.toString().replace('+8657188880001', '+8657188880002'));
  const bad = await send(tampered, { ...headers, 'x-timestamp': ts2, 'x-nonce': 'nonce-2', 'x-signature': sig2, 'x-request-id': 'req-t' });
  t.equal(bad.json.code, 'bad_signature', 'a body changed after signing');
  const good = await send(body, { ...headers, 'x-timestamp': ts2, 'x-nonce': 'nonce-2', 'x-signature': sig2, 'x-request-id': 'req-t' });
  t.equal(good.status, 409, 'the nonce of the forged request was not burnt; the number is on a card already');
  t.equal(sim.cards().length, 2, 'only the signed creates made cards');
});

t.test('a 503 storm and 429s are retried with backoff, honouring Retry-After, with one X-Request-Id', async (t) => {
  const clock = new Clock();
  const sim = await startProviderSim(t, { now: clock.now });
  const sleeps: number[] = [];
  const p = provider(t, sim.baseUrl, { now: clock.now, sleeps });
  sim.failNext(503, 3);
  const card = await p.create(fields(), 'req-storm-1');
  t.equal(card.status, 'pending_review');
  const storm = sim.requests.filter((r) => r.requestId === 'req-storm-1');
  t.same(storm.map((r) => r.status), [503, 503, 503, 201], 'three 503s then the create');
  t.equal(new Set(storm.map((r) => r.nonce)).size, 4, 'a fresh nonce per attempt');
  t.equal(sleeps.length, 3);
  t.ok(sleeps[0]! >= 50 && sleeps[0]! <= 100 && sleeps[1]! >= 100 && sleeps[1]! <= 200 && sleeps[2]! >= 200 && sleeps[2]! <= 400, `exponential backoff ${sleeps}`);

  sleeps.length = 0;
  sim.failNext(429, 1, 7);
  await p.get(card.cardId, 'req-429');
  t.same(sleeps, [7000], 'Retry-After: 7 is waited, not the 100 ms backoff');

  sleeps.length = 0;
  sim.failNext(503, 10);
  const e = await p.get(card.cardId, 'req-storm-2').catch((x: unknown) => x);
  t.match(e, { code: 'provider_unavailable', status: 503, reason: 'service unavailable', attempts: 4 }, 'gives up after max_attempts');
  t.equal(sim.requests.filter((r) => r.requestId === 'req-storm-2').length, 4);
  sim.clearFaults();

  const short = provider(t, sim.baseUrl, { now: clock.now, sleeps, maxMs: 5000 });
  sleeps.length = 0;
  sim.failNext(429, 5, 120);
  const e2 = await short.get(card.cardId, 'req-long-wait').catch((x: unknown) => x);
  t.match(e2, { code: 'provider_unavailable', status: 429, retryAfterMs: 120000, attempts: 1 }, 'a Retry-After beyond backoff.max_ms is handed back to the caller');
  t.same(sleeps, []);
  sim.clearFaults();
});

t.test('an answer lost after the provider acted: the retry with the same X-Request-Id gets the same card', async (t) => {
  const sim = await startProviderSim(t);
  const p = provider(t, sim.baseUrl);
  sim.loseAnswers(1);
  const card = await p.create(fields(), 'req-lost-1');
  t.equal(sim.cards().length, 1, 'one card, not two');
  t.equal(card.cardId, sim.cards()[0]!.cardId);
  t.same(sim.requests.map((r) => [r.status, r.replayed]), [[503, false], [201, true]]);
});

t.test('4xx: the provider reason reaches the caller and nothing is retried', async (t) => {
  const sim = await startProviderSim(t);
  const p = provider(t, sim.baseUrl);
  await p.create(fields(), 'req-a');
  const e = await p.create(fields({ display_name: '另一个名字' }), 'req-b').catch((x: unknown) => x);
  t.match(e, { code: 'provider_refused', status: 409, providerCode: 'number_in_use', reason: /already on card card_/, attempts: 1 });
  const e2 = await p.create(fields({ logo_png_base64: Buffer.from('GIF89a').toString('base64') }), 'req-c').catch((x: unknown) => x);
  t.match(e2, { code: 'provider_refused', status: 400, reason: 'logo is not a PNG' });
  t.equal(sim.requests.length, 3);
});

t.test('a provider that never answers: timeout per attempt, then unavailable', async (t) => {
  const server = createServer(() => {
    /* never answers */
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => {
    server.closeAllConnections();
    return new Promise((r) => server.close(r));
  });
  let hits = 0;
  server.on('request', () => hits++);
  const p = provider(t, `http://127.0.0.1:${(server.address() as AddressInfo).port}/callerid`, { timeoutMs: 200, maxAttempts: 2 });
  const started = Date.now();
  const e = await p.get('card_1', 'req-silent').catch((x: unknown) => x);
  t.match(e, { code: 'provider_unavailable', reason: 'timeout', attempts: 2 });
  t.equal(hits, 2);
  t.ok(Date.now() - started < 10_000, 'bounded by the timeouts');
});

t.test('Retry-After as seconds or an HTTP-date', async (t) => {
  const now = Date.UTC(2026, 11, 6, 2, 0, 0);
  t.equal(parseRetryAfter('5', now), 5000);
  t.equal(parseRetryAfter(new Date(now + 30_000).toUTCString(), now), 30_000);
  t.equal(parseRetryAfter('soon', now), undefined);
  t.equal(parseRetryAfter(undefined, now), undefined);
});
