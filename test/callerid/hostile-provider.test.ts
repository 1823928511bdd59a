/**
 * A provider that answers with times outside what a date can hold (Unix seconds of 1e13,
 * 1e300, negative ones): the card keeps working. Such a time is dropped (null), not stored:
 * stored, every GET of the card and every webhook about it would fail on it (a JavaScript
 * Date ends at ±8.64e15 ms), that is a 500 for the card for good.
 */
import t from 'tap';
import fc from 'fast-check';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { auth } from '../helpers/fixtures.js';
import { CID_TOKEN, callerIdEnv } from './fixtures/app-env.js';
import { ORG_NUMBERS, cardBody } from './helpers.js';

const ANSWERS: Array<Record<string, unknown>> = [
  { effective_at: 1e13, expires_at: 1e300 },
  { effective_at: -1e13, expires_at: 8.64e12 + 1 },
  { effective_at: '2026-12-06T12:00:00Z', expires_at: 1.7976931348623157e308 },
];

for (const times of ANSWERS) {
  t.test(`provider times ${JSON.stringify(times)}: the card answers, the absurd time is null`, async (t) => {
    let cards = 0;
    const provider = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        const id = req.method === 'POST' ? `card-${++cards}` : decodeURIComponent(req.url!.split('/').pop()!);
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ card_id: id, status: 'active', ...times }));
      });
    });
    await new Promise<void>((r) => provider.listen(0, '127.0.0.1', r));
    t.teardown(() => {
      provider.closeAllConnections();
      return new Promise((r) => provider.close(r));
    });
    const env = await callerIdEnv(t, { callerId: { base_url: `http://127.0.0.1:${(provider.address() as AddressInfo).port}` } });
    const cid = auth(CID_TOKEN);
    const created = await env.inject({ method: 'POST', url: '/v1/caller-id', headers: cid, payload: cardBody() });
    t.equal(created.statusCode, 202, created.body);
    const id = created.json().id as string;
    env.clock.advance(61_000);
    await env.tick();
    const got = await env.inject({ method: 'GET', url: `/v1/caller-id/${id}`, headers: cid });
    t.equal(got.statusCode, 200, got.body);
    t.equal(got.json().status, 'active');
    t.equal(got.json().expires_at, null, 'an expiry no date can hold is not kept');
    if (typeof times.effective_at === 'string') t.equal(got.json().effective_at, '2026-12-06T12:00:00.000Z', 'a good time beside it is kept');
    const list = await env.inject({ method: 'GET', url: `/v1/caller-id?number=${encodeURIComponent(cardBody().numbers ? (cardBody().numbers as string[])[0]! : '')}`, headers: cid });
    t.equal(list.statusCode, 200, list.body);
  });
}

/** One answer of a hostile provider: status, headers and body chosen by fast-check. */
interface Answer {
  status: number;
  contentType: string;
  body: string;
}

const jsonValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom(null, true, 0, -1, 1e13, 1e300, '', 'active', 'approved', 'pending_review', 'rejected', 'expired', 'revoked', '2026-12-06T12:00:00Z', '+275760-09-13T00:00:00.001Z', 'card-1'),
  fc.string({ maxLength: 12 }),
  fc.double(),
  fc.array(fc.string({ maxLength: 3 }), { maxLength: 2 }),
  fc.dictionary(fc.string({ maxLength: 3 }), fc.string({ maxLength: 3 }), { maxKeys: 2 }),
);
// Mostly a card the daemon can take, with the odd field wrong.
const cardJson = fc.record(
  {
    card_id: fc.oneof({ weight: 3, arbitrary: fc.integer({ min: 1, max: 30 }).map((i) => `card-${i}`) }, { weight: 1, arbitrary: jsonValue }),
    status: fc.oneof({ weight: 3, arbitrary: fc.constantFrom('pending_review', 'approved', 'active', 'rejected', 'expired', 'revoked') }, { weight: 1, arbitrary: jsonValue }),
    reason: jsonValue,
    effective_at: jsonValue,
    expires_at: jsonValue,
    code: jsonValue,
    message: jsonValue,
  },
  { requiredKeys: [] },
);
const answer: fc.Arbitrary<Answer> = fc.record({
  status: fc.oneof({ weight: 3, arbitrary: fc.constant(200) }, { weight: 1, arbitrary: fc.constantFrom(201, 204, 400, 401, 403, 404, 409, 422, 429, 500, 503, 302) }),
  contentType: fc.constantFrom('application/json', 'application/json; charset=utf-8', 'text/html', ''),
  body: fc.oneof(
    { weight: 4, arbitrary: cardJson.map((j) => JSON.stringify(j)) },
    { weight: 1, arbitrary: fc.constantFrom('', 'null', '[]', '"active"', '{', '<html>bad gateway</html>', '{"card_id":"x","status":"active"}'.repeat(2)) },
    { weight: 1, arbitrary: fc.string({ maxLength: 40 }) },
  ),
});

t.test('a provider answering anything: the API never answers 500, the poller never throws, GET always answers', async (t) => {
  let script: Answer[] = [];
  let served = 0;
  const provider = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const a = script[served++ % Math.max(1, script.length)] ?? { status: 503, contentType: '', body: '' };
      const headers: Record<string, string> = a.contentType === '' ? {} : { 'content-type': a.contentType };
      if (a.status === 429 || a.status === 503) headers['retry-after'] = '0';
      res.writeHead(a.status, headers).end(a.status === 204 ? undefined : a.body);
    });
  });
  await new Promise<void>((r) => provider.listen(0, '127.0.0.1', r));
  t.teardown(() => {
    provider.closeAllConnections();
    return new Promise((r) => provider.close(r));
  });
  const env = await callerIdEnv(t, { callerId: { base_url: `http://127.0.0.1:${(provider.address() as AddressInfo).port}`, max_attempts: 2 } });
  const cid = auth(CID_TOKEN);
  const ids: string[] = [];
  const codes = new Map<number, number>();
  let n = 0;
  await fc.assert(
    fc.asyncProperty(fc.array(answer, { minLength: 1, maxLength: 4 }), fc.constantFrom('create', 'update', 'delete', 'poll'), async (answers, op) => {
      script = answers;
      served = 0;
      const number = ORG_NUMBERS[n++ % ORG_NUMBERS.length]!;
      let res;
      if (op === 'create' || ids.length === 0) res = await env.inject({ method: 'POST', url: '/v1/caller-id', headers: cid, payload: cardBody({ numbers: [number] }) });
      else if (op === 'update') res = await env.inject({ method: 'PUT', url: `/v1/caller-id/${ids[n % ids.length]}`, headers: cid, payload: cardBody({ numbers: [number] }) });
      else if (op === 'delete') res = await env.inject({ method: 'DELETE', url: `/v1/caller-id/${ids[n % ids.length]}`, headers: cid });
      else {
        env.clock.advance(61_000);
        await env.tick();
        res = await env.inject({ method: 'GET', url: `/v1/caller-id/${ids[n % ids.length]}`, headers: cid });
      }
      codes.set(res.statusCode, (codes.get(res.statusCode) ?? 0) + 1);
      if (res.statusCode >= 500 && res.statusCode !== 502 && res.statusCode !== 503) throw new Error(`${op} → ${res.statusCode} ${res.body} after ${JSON.stringify(answers)}`);
      if (res.statusCode >= 400 && typeof res.json().error?.code !== 'string') throw new Error(`${op} → ${res.statusCode} without an error code: ${res.body}`);
      const id = res.statusCode < 300 && op !== 'delete' ? (res.json().id as string | undefined) : undefined;
      if (id !== undefined && !ids.includes(id)) ids.push(id);
      for (const known of ids) {
        const g = await env.inject({ method: 'GET', url: `/v1/caller-id/${known}`, headers: cid });
        if (g.statusCode !== 200) throw new Error(`GET ${known} → ${g.statusCode} ${g.body} after ${op} with ${JSON.stringify(answers)}`);
      }
    }),
    { numRuns: Number(process.env.XINGE_FUZZ_RUNS ?? 120), endOnFailure: true },
  );
  t.ok(ids.length > 0, `${ids.length} cards made; answers ${JSON.stringify(Object.fromEntries(codes))}`);
  const list = await env.inject({ method: 'GET', url: '/v1/caller-id?limit=100', headers: cid });
  t.equal(list.statusCode, 200, list.body);
});
