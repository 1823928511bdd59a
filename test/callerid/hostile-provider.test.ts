/**
 * A provider that answers with times outside what a date can hold (Unix seconds of 1e13,
 * 1e300, negative ones): the card keeps working. Such a time is dropped (null), not stored:
 * stored, every GET of the card and every webhook about it would fail on it (a JavaScript
 * Date ends at ±8.64e15 ms), that is a 500 for the card for good.
 */
import t from 'tap';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { auth } from '../helpers/fixtures.js';
import { CID_TOKEN, callerIdEnv } from './fixtures/app-env.js';
import { cardBody } from './helpers.js';

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
