/**
 * Issue 18, points 3 and 5: the HTTP endpoints of SPEC 3 under scope callerid, against the
 * provider simulator over loopback: checks before sending (422 naming the field, nothing
 * sent), 404 for unknown ids, ownership, the provider's 4xx reason surfaced, a wrong secret.
 */
import t from 'tap';
import { auth, TOKEN } from '../helpers/fixtures.js';
import { CID2_TOKEN, CID_TOKEN, callerIdEnv } from './fixtures/app-env.js';
import { APP_SECRET, LOGO, ORG_NUMBERS, WIDE_LOGO, cardBody } from './helpers.js';

const cid = auth(CID_TOKEN);

t.test('checks before sending: 422 naming the field, and the provider sees nothing', async (t) => {
  const env = await callerIdEnv(t);
  const post = (over: Record<string, unknown>) => env.inject({ method: 'POST', url: '/v1/caller-id', headers: cid, payload: cardBody(over) });
  const corruptCrc = Buffer.from(LOGO);
  corruptCrc[45] = corruptCrc[45]! ^ 0xff; // inside IDAT
  const cases: Array<[Record<string, unknown>, string, RegExp]> = [
    [{ display_name: '信' }, 'display_name', /2 to 20 characters \(got 1\)/],
    [{ display_name: '信'.repeat(21) }, 'display_name', /got 21/],
    [{ display_name: '  信\n鸽 ' }, 'display_name', /control characters/],
    [{ numbers: ['057188880000'] }, 'numbers[0]', /E\.164/],
    [{ numbers: [ORG_NUMBERS[0], '+8657199990000'] }, 'numbers[1]', /organisation's numbers/],
    [{ numbers: [ORG_NUMBERS[0], ORG_NUMBERS[0]] }, 'numbers[1]', /twice/],
    [{ numbers: [] }, 'numbers', /non-empty/],
    [{ logo_png_base64: Buffer.from('\xff\xd8\xff\xe0 JFIF not a png', 'latin1').toString('base64') }, 'logo_png_base64', /bad signature/],
    [{ logo_png_base64: LOGO.subarray(0, 60).toString('base64') }, 'logo_png_base64', /truncated/],
    [{ logo_png_base64: corruptCrc.toString('base64') }, 'logo_png_base64', /bad CRC in PNG chunk IDAT/],
    [{ logo_png_base64: Buffer.concat([LOGO, Buffer.from('x')]).toString('base64') }, 'logo_png_base64', /after the PNG end/],
    [{ logo_png_base64: WIDE_LOGO.toString('base64') }, 'logo_png_base64', /600x20; at most 512x512/],
    [{ logo_png_base64: Buffer.alloc(151, 1).toString('base64') }, 'logo_png_base64', /over 150 bytes/],
    [{ logo_png_base64: 'not base64!' }, 'logo_png_base64', /not valid base64/],
    [{ industry: '   ' }, 'industry', /1 to 64/],
  ];
  for (const [over, field, message] of cases) {
    const res = await post(over);
    t.equal(res.statusCode, 422, `${field}: ${res.body}`);
    t.match(res.json(), { error: { code: 'invalid_caller_id', field, message } });
  }
  const missing = await env.inject({ method: 'POST', url: '/v1/caller-id', headers: cid, payload: { ...cardBody(), contact: undefined } });
  t.equal(missing.statusCode, 400);
  t.match(missing.json(), { error: { code: 'invalid_field', field: 'contact' } });
  const wrongType = await env.inject({ method: 'POST', url: '/v1/caller-id', headers: cid, payload: cardBody({ numbers: { a: 1 } }) });
  t.match(wrongType.json(), { error: { code: 'invalid_field', field: 'numbers' } });
  t.equal(env.sim.requests.length, 0, 'nothing reached the provider');
  t.same(env.ta.app.store.callerId.list(undefined, 10), [], 'nothing stored');
  const ok = await post({ display_name: '  信鸽  ' });
  t.equal(ok.statusCode, 202, ok.body);
  t.equal(ok.json().display_name, '信鸽', 'two characters, trimmed: the minimum');
});

t.test('endpoints: create, get, list by number, update, delete; scope, ownership, 404', async (t) => {
  const env = await callerIdEnv(t);
  t.equal((await env.inject({ method: 'POST', url: '/v1/caller-id', payload: cardBody() })).statusCode, 401);
  const noScope = await env.inject({ method: 'POST', url: '/v1/caller-id', headers: auth(TOKEN), payload: cardBody() });
  t.match(noScope.json(), { error: { code: 'forbidden' } });
  t.equal(noScope.statusCode, 403);

  const created = await env.inject({ method: 'POST', url: '/v1/caller-id', headers: cid, payload: cardBody({ numbers: [ORG_NUMBERS[0], ORG_NUMBERS[1]] }) });
  t.equal(created.statusCode, 202, created.body);
  const reg = created.json();
  t.match(reg, {
    id: /^cid_/, card_id: /^card_/, status: 'pending_review', pending: null, numbers: [ORG_NUMBERS[0], ORG_NUMBERS[1]],
    display_name: '信鸽金融', logo: { bytes: LOGO.length }, expires_at: null,
  });
  t.notOk('logo_png_base64' in reg, 'the logo is not echoed back');
  t.same(env.sim.cards()[0]!.fields.logo_png_base64, LOGO.toString('base64'), 'the provider got the logo bytes as uploaded');

  const get = await env.inject({ method: 'GET', url: `/v1/caller-id/${reg.id}`, headers: cid });
  t.equal(get.statusCode, 200);
  t.same(get.json(), reg);
  for (const url of ['/v1/caller-id/cid_nope', '/v1/caller-id/' + encodeURIComponent('../x')]) {
    const nf = await env.inject({ method: 'GET', url, headers: cid });
    t.equal(nf.statusCode, 404);
    t.match(nf.json(), { error: { code: 'not_found', field: 'id' } });
  }
  t.equal((await env.inject({ method: 'GET', url: `/v1/caller-id/${reg.id}`, headers: auth(CID2_TOKEN) })).statusCode, 404, "another client's registration is not found");

  const byNumber = await env.inject({ method: 'GET', url: `/v1/caller-id?number=${encodeURIComponent(ORG_NUMBERS[1]!)}`, headers: cid });
  t.same(byNumber.json().items.map((r: { id: string }) => r.id), [reg.id]);
  const plusAsSpace = await env.inject({ method: 'GET', url: `/v1/caller-id?number=${ORG_NUMBERS[1]}`, headers: cid });
  t.same(plusAsSpace.json().items.map((r: { id: string }) => r.id), [reg.id], 'an unescaped + (a space) still finds it');
  t.same((await env.inject({ method: 'GET', url: `/v1/caller-id?number=%2B${ORG_NUMBERS[2]!.slice(1)}`, headers: cid })).json().items, []);
  t.same((await env.inject({ method: 'GET', url: `/v1/caller-id?number=%2B8657188880001`, headers: auth(CID2_TOKEN) })).json().items, [], 'own registrations only');
  const badNumber = await env.inject({ method: 'GET', url: '/v1/caller-id?number=abc', headers: cid });
  t.match(badNumber.json(), { error: { code: 'invalid_caller_id', field: 'number' } });
  t.equal((await env.inject({ method: 'GET', url: '/v1/caller-id', headers: cid })).json().items.length, 1, 'without number: all of the client');

  const put = await env.inject({ method: 'PUT', url: `/v1/caller-id/${reg.id}`, headers: cid, payload: { display_name: '信鸽金融客服中心' } });
  t.equal(put.statusCode, 202, put.body);
  t.match(put.json(), { id: reg.id, card_id: reg.card_id, status: 'pending_review', display_name: '信鸽金融客服中心', numbers: [ORG_NUMBERS[0], ORG_NUMBERS[1]] });
  t.equal(env.sim.cards()[0]!.fields.display_name, '信鸽金融客服中心');
  t.equal(env.sim.cards()[0]!.updates, 1);
  const badPut = await env.inject({ method: 'PUT', url: `/v1/caller-id/${reg.id}`, headers: cid, payload: { numbers: ['+8657100000000'] } });
  t.match(badPut.json(), { error: { code: 'invalid_caller_id', field: 'numbers[0]' } });
  t.equal((await env.inject({ method: 'PUT', url: '/v1/caller-id/cid_nope', headers: cid, payload: { display_name: '信鸽' } })).statusCode, 404);

  t.equal((await env.inject({ method: 'DELETE', url: '/v1/caller-id/cid_nope', headers: cid })).statusCode, 404);
  const del = await env.inject({ method: 'DELETE', url: `/v1/caller-id/${reg.id}`, headers: cid });
  t.equal(del.statusCode, 200, del.body);
  t.match(del.json(), { id: reg.id, status: 'revoked', pending: null });
  t.equal(env.sim.cards().length, 0, 'revoked at the provider');
  t.equal((await env.inject({ method: 'DELETE', url: `/v1/caller-id/${reg.id}`, headers: cid })).statusCode, 200, 'a second delete is harmless');
  const putRevoked = await env.inject({ method: 'PUT', url: `/v1/caller-id/${reg.id}`, headers: cid, payload: { display_name: '信鸽' } });
  t.equal(putRevoked.statusCode, 409);
  t.match(putRevoked.json(), { error: { code: 'invalid_state' } });
  t.equal((await env.inject({ method: 'GET', url: `/v1/caller-id/${reg.id}`, headers: cid })).json().status, 'revoked');
});

t.test("the provider's 4xx reason reaches the caller; nothing is left stored", async (t) => {
  const env = await callerIdEnv(t);
  const first = await env.inject({ method: 'POST', url: '/v1/caller-id', headers: cid, payload: cardBody() });
  t.equal(first.statusCode, 202);
  const dup = await env.inject({ method: 'POST', url: '/v1/caller-id', headers: cid, payload: cardBody({ display_name: '另一家' }) });
  t.equal(dup.statusCode, 422, dup.body);
  t.match(dup.json(), { error: { code: 'provider_refused', message: /HTTP 409\): number \+8657188880000 is already on card card_000001/ } });
  t.equal(env.ta.app.store.callerId.list(undefined, 10).length, 1, 'the refused create is not kept');
  t.equal(env.sim.requests.length, 2, 'not retried');
});

t.test('a wrong secret: 502 with the provider reason, not retried, nothing stored', async (t) => {
  const env = await callerIdEnv(t, { callerId: { app_secret: 'not-the-secret' } });
  const res = await env.inject({ method: 'POST', url: '/v1/caller-id', headers: cid, payload: cardBody() });
  t.equal(res.statusCode, 502, res.body);
  t.match(res.json(), { error: { code: 'provider_auth_failed', message: /HTTP 401\): signature does not match/ } });
  t.same(env.sim.requests.map((r) => [r.status, r.code]), [[401, 'bad_signature']]);
  t.equal(env.ta.app.store.callerId.list(undefined, 10).length, 0);
  const metrics = (await env.inject({ method: 'GET', url: '/metrics' })).body;
  t.match(metrics, /xinge_callerid_provider_responses_total\{op="create",status="401"\} 1/);
  t.match(metrics, /xinge_callerid_operations_total\{op="create",result="auth_failed"\} 1/);
});

t.test('logs at debug hold no full number, no secret, no logo', async (t) => {
  const env = await callerIdEnv(t, { level: 'debug' });
  const ok = await env.inject({ method: 'POST', url: '/v1/caller-id', headers: cid, payload: cardBody() });
  t.equal(ok.statusCode, 202);
  await env.inject({ method: 'POST', url: '/v1/caller-id', headers: cid, payload: cardBody() }); // 409 from the provider, reason with the number
  await env.inject({ method: 'GET', url: `/v1/caller-id?number=${encodeURIComponent(ORG_NUMBERS[0]!)}`, headers: cid });
  env.sim.failFor(503, 60_000);
  await env.inject({ method: 'PUT', url: `/v1/caller-id/${ok.json().id}`, headers: cid, payload: { display_name: '信鸽金融二' } });
  env.sim.clearFaults();
  env.clock.advance(60_000);
  await env.tick();
  const text = env.ta.lines.join('\n');
  t.ok(env.ta.lines.some((l) => l.includes('caller-ID provider call failed')), 'the failures were logged');
  t.ok(env.ta.lines.some((l) => l.includes('/v1/caller-id?number=*')), 'the query value masked');
  for (const secret of ['8657188880000', APP_SECRET, CID_TOKEN, LOGO.toString('base64').slice(0, 40)]) t.notOk(text.includes(secret), `no ${secret.slice(0, 12)}…`);
});

t.test('a reload with the right secret applies to the next provider call', async (t) => {
  const env = await callerIdEnv(t, { callerId: { app_secret: 'not-the-secret' } });
  t.equal((await env.inject({ method: 'POST', url: '/v1/caller-id', headers: cid, payload: cardBody() })).statusCode, 502);
  const next = structuredClone(env.ta.app.config());
  next.caller_id!.app_secret = APP_SECRET;
  env.ta.app.reload(next);
  const res = await env.inject({ method: 'POST', url: '/v1/caller-id', headers: cid, payload: cardBody() });
  t.equal(res.statusCode, 202, res.body);
  t.equal(res.json().status, 'pending_review');
});
