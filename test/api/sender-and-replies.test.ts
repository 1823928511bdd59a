/**
 * Issue 15, points 3 and 4: `from` lies within the client's own source extension and the
 * combined source address fits SMPP (400/403 naming the field, at intake); replies are owned
 * by the source extension, else the client that last messaged the sender, else
 * replies.default_client, and GET /v1/replies lists them (own for scope sms, all for admin)
 * with cursor pagination and filters. Opt-outs by reply apply whoever owns the reply.
 */
import t, { type Test } from 'tap';
import { ADMIN_TOKEN, NOTIFY_TOKEN, TOKEN, auth, baseConfigObject, makeConfig, startTestApp, tempDir, waitFor, type TestApp } from '../helpers/fixtures.js';

function app(t: Test): TestApp {
  const dir = tempDir(t);
  const obj = baseConfigObject(dir, [{ id: 'c1', host: '127.0.0.1', port: 1, source: { addr: '10690000' } }]) as Record<string, any>;
  obj.clients[0].source_extension = '01';
  obj.clients[1].source_extension = '2';
  obj.replies = { default_client: 'notify' };
  const ta = startTestApp(makeConfig(obj));
  t.teardown(() => ta.close());
  return ta;
}

const post = (ta: TestApp, url: string, payload: unknown, token = TOKEN) => ta.app.http.inject({ method: 'POST', url, headers: auth(token), payload: payload as object });
const get = (ta: TestApp, url: string, token = TOKEN) => ta.app.http.inject({ method: 'GET', url, headers: auth(token) });

t.test('from must lie within the client source_extension; the source address fits SMPP', async (t) => {
  const ta = app(t);
  await ta.app.start();
  const fc = ta.connectors.get('c1')!;
  const msg = { to: '13800138000', text: 'hi', category: 'notification' };
  const ok = await post(ta, '/v1/sms', { ...msg, from: '0157' });
  t.equal(ok.statusCode, 202, ok.body);
  const dflt = await post(ta, '/v1/sms', msg);
  t.equal(dflt.statusCode, 202);
  await waitFor(() => fc.submits.length === 2, 5000, 'two submits');
  t.same(fc.submits.map((s) => s.from).sort(), ['1069000001', '106900000157'], 'service code + extension on the wire');

  for (const [from, token, code, status] of [
    ['02', TOKEN, 'sender_not_allowed', 403],
    ['2', TOKEN, 'sender_not_allowed', 403],
    ['0', TOKEN, 'sender_not_allowed', 403],
    ['01', NOTIFY_TOKEN, 'sender_not_allowed', 403],
    [`01${'9'.repeat(11)}`, TOKEN, 'invalid_field', 400],
  ] as const) {
    const r = await post(ta, '/v1/sms', { ...msg, from, ...(token === NOTIFY_TOKEN ? { template: 'x', text: undefined } : {}) }, token);
    t.equal(r.statusCode, status, `${from}: ${r.body}`);
    t.match(r.json(), { error: { code, field: 'from' } }, from);
  }
  const long = await post(ta, '/v1/sms', { ...msg, from: `01${'9'.repeat(11)}` });
  t.match(long.json().error.message, /21|20/, 'says the limit');
  const batch = await post(ta, '/v1/sms/batch', { messages: [{ ...msg, from: '01' }, { ...msg, from: '99' }] });
  t.equal(batch.statusCode, 202);
  t.match(batch.json(), { accepted: 1, refused: 1, results: [{ id: /^msg_/ }, { status: 403, error: { code: 'sender_not_allowed', field: 'messages[1].from' } }] });
});

function mo(ta: TestApp, from: string, to: string, text: string): Promise<number> {
  return new Promise((resolve) =>
    ta.connectors.get('c1')!.emit('deliver', {
      carrierId: 'c1', bindIndex: 0, isReceipt: false, esmClass: 0, dataCoding: 8, sourceAddr: from, destinationAddr: to,
      shortMessage: Buffer.from(text, 'utf16le').swap16(), tlvs: {}, ack: (s = 0) => resolve(s),
    }),
  );
}

t.test('reply ownership and GET /v1/replies', async (t) => {
  const ta = app(t);
  await ta.app.start();
  // The admin client messages 13900139000 first: a bare-code reply from that number is admin's.
  t.equal((await post(ta, '/v1/sms', { to: '13900139000', text: 'hi', category: 'notification' }, ADMIN_TOKEN)).statusCode, 202);
  t.equal(await mo(ta, '8613700137000', '1069000001', '已还了'), 0, 'to loans\' extension, from a number nobody messaged');
  t.equal(await mo(ta, '8613700137001', '10690000015', '回电'), 0, 'to a longer number within loans\' extension');
  t.equal(await mo(ta, '8613900139000', '10690000', '困难'), 0, 'to the bare code, from a number admin messaged');
  t.equal(await mo(ta, '8613600136000', '10690000', 'TD'), 0, 'to the bare code from a stranger: the default client, and an opt-out');
  t.equal(await mo(ta, '8613600136001', '106900002', '你好'), 0, 'to admin\'s extension');

  const loans = await get(ta, '/v1/replies');
  t.equal(loans.statusCode, 200, loans.body);
  t.same(loans.json().replies.map((r: any) => r.from), ['+8613700137000', '+8613700137001'], 'loans sees its own');
  t.match(loans.json().replies[0], { client: 'loans', to: '1069000001', text: '已还了', intent: 'paid', opt_out: false, carrier: 'c1', received_at: /Z$/ });
  const notify = await get(ta, '/v1/replies', NOTIFY_TOKEN);
  t.same(notify.json().replies.map((r: any) => [r.from, r.text, r.opt_out]), [['+8613600136000', 'TD', true]], 'the default client gets the stranger\'s reply');
  t.equal(ta.app.store.aux.isOptedOut('+8613600136000'), true, 'the opt-out applies');
  const all = await get(ta, '/v1/replies', ADMIN_TOKEN);
  t.same(all.json().replies.map((r: any) => r.client), ['loans', 'loans', 'admin', 'notify', 'admin'], 'admin sees all, in arrival order');
  t.same((await get(ta, '/v1/replies?client=notify', ADMIN_TOKEN)).json().replies.length, 1, 'admin may narrow to a client');

  // Filters.
  t.same((await get(ta, '/v1/replies?number=13700137001')).json().replies.map((r: any) => r.text), ['回电']);
  t.same((await get(ta, '/v1/replies?intent=paid', ADMIN_TOKEN)).json().replies.map((r: any) => r.text), ['已还了']);
  t.same((await get(ta, '/v1/replies?intent=none', ADMIN_TOKEN)).json().replies.map((r: any) => r.text), ['TD', '你好']);
  t.equal((await get(ta, '/v1/replies?since=2000-01-02T00:00:00Z&until=2001-01-01T00:00:00Z', ADMIN_TOKEN)).json().replies.length, 0);
  t.equal((await get(ta, `/v1/replies?since=${Math.floor(Date.now() / 1000) - 60}`, ADMIN_TOKEN)).json().replies.length, 5);

  // Cursor pagination: one at a time through all five, then nothing more.
  const seen: string[] = [];
  let cursor: string | undefined;
  for (let i = 0; i < 10; i++) {
    const page = (await get(ta, `/v1/replies?limit=2${cursor ? `&cursor=${cursor}` : ''}`, ADMIN_TOKEN)).json();
    seen.push(...page.replies.map((r: any) => r.id));
    cursor = page.next_cursor;
    if (!page.has_more) break;
  }
  t.equal(seen.length, 5);
  t.equal(new Set(seen).size, 5, 'no reply twice');
  t.same((await get(ta, `/v1/replies?cursor=${cursor}`, ADMIN_TOKEN)).json(), { replies: [], next_cursor: cursor, has_more: false }, 'a poller resumes from the cursor');

  // Refusals.
  for (const [url, token, status, field] of [
    ['/v1/replies?client=notify', TOKEN, 403, 'client'],
    ['/v1/replies?intent=angry', TOKEN, 400, 'intent'],
    ['/v1/replies?cursor=bm9wZQ', TOKEN, 400, 'cursor'],
    ['/v1/replies?limit=0', TOKEN, 400, 'limit'],
    ['/v1/replies?number=12', TOKEN, 400, 'number'],
    ['/v1/replies?since=tomorrow', TOKEN, 400, 'since'],
    ['/v1/replies?limit=1&limit=2', TOKEN, 400, 'limit'],
    ['/v1/replies?colour=red', TOKEN, 400, 'colour'],
  ] as const) {
    const r = await get(ta, url, token);
    t.equal(r.statusCode, status, `${url}: ${r.body}`);
    t.equal(r.json().error?.field, field, url);
  }
  t.equal((await ta.app.http.inject({ method: 'GET', url: '/v1/replies' })).statusCode, 401);
});
