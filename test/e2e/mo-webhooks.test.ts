import t from 'tap';
import { createServer, type IncomingMessage } from 'node:http';
import { auth, TOKEN, waitFor } from '../helpers/fixtures.js';
import { startSmppEnv } from '../helpers/smpp-fixture.js';
import { hasOpenssl, opensslSignature } from '../webhooks/fixtures/openssl.js';
import { freePort } from '../helpers/free-port.js';

const SECRET = 'whsec-loans-0123456789';

interface Received {
  headers: IncomingMessage['headers'];
  body: string;
}


function hookServer(port: number, got: Received[]) {
  const server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      got.push({ headers: req.headers, body });
      res.writeHead(204).end();
    });
  });
  return new Promise<typeof server>((r) => server.listen(port, '127.0.0.1', () => r(server)));
}

t.test('replies: charsets, reassembly, opt-out, intent, attribution, MO webhook', async (t) => {
  const port = await freePort();
  const got: Received[] = [];
  const server = await hookServer(port, got);
  t.teardown(() => new Promise((r) => server.close(r)));
  const env = await startSmppEnv(t, [{ id: 'c1', charsets: { '15': 'gb18030' }, source: { addr: '1069000012' } }], (cfg) => {
    const clients = cfg.clients as Array<Record<string, unknown>>;
    clients[0]!.webhook_url = `http://127.0.0.1:${port}/hooks`;
    clients[0]!.webhook_secret = SECRET;
    clients[0]!.source_extension = '34';
  });
  const sim = env.sims.get('c1')!;
  await waitFor(() => env.app.carriers.get('c1')!.connector.isUp(), 5000, 'bound');
  // A message to the borrower first, so an unattributed reply finds its sender.
  const sent = await env.app.http.inject({ method: 'POST', url: '/v1/sms', headers: auth(), payload: { to: '13800001111', text: '您的借款明日到期', category: 'notification' } });
  const sentId = sent.json().id;
  await waitFor(() => env.app.store.messages.getMessage(sentId)?.status === 'delivered', 5000, 'delivered');

  sim.injectMo({ from: '8613800001111', to: '106900001234', text: '我已还款了，谢谢', dataCoding: 8 });
  sim.injectMo({ from: '8613800002222', to: '106900001234', bytes: Buffer.from('d1d3c6dad6d0', 'hex'), dataCoding: 15 }); // 延期中 in GB18030 (python3 '延期中'.encode('gb18030'))
  sim.injectMo({ from: '8613800001111', to: '106900001234', text: 'ＴＤ', dataCoding: 8 });
  sim.injectMo({ from: '8613800003333', to: '106900001234', text: '不是我借的钱，'.repeat(20) + '投诉', dataCoding: 8 });
  await waitFor(() => got.filter((g) => JSON.parse(g.body).type === 'mo').length === 4, 10000, 'four MO webhooks');
  const mos = got.map((g) => ({ ...g, json: JSON.parse(g.body) })).filter((g) => g.json.type === 'mo');
  const byText = (s: string) => mos.find((m) => m.json.text.includes(s))!;
  t.match(byText('我已还款').json, { intent: 'paid', from: '+8613800001111', last_message_id: sentId, opt_out: false });
  t.equal(mos.filter((m) => m.json.text === 'ＴＤ').length, 1);
  t.match(byText('ＴＤ').json, { opt_out: true });
  t.ok(env.app.store.aux.isOptedOut('+8613800001111'), 'TD reply added the sender to the opt-out list');
  t.match(byText('投诉').json, { intent: 'dispute', partial: false });
  t.equal(byText('投诉').json.text, '不是我借的钱，'.repeat(20) + '投诉', 'concatenated reply reassembled exactly');
  const gb = mos.find((m) => m.json.from === '+8613800002222')!;
  t.match(gb.json, { text: '延期中', intent: 'hardship' }, 'GB18030 by the carrier charsets map');
  for (const m of mos) {
    t.ok(m.headers['x-xinge-event-id'], 'event id');
    if (hasOpenssl()) t.equal(m.headers['x-xinge-signature'], opensslSignature(SECRET, String(m.headers['x-xinge-timestamp']), m.body), 'signature checked with openssl');
  }
  const metrics = await env.app.http.inject({ method: 'GET', url: '/metrics' });
  t.match(metrics.body, /xinge_mo_total\{carrier="c1",intent="paid"\} 1/);
});

t.test('webhook outbox: server down, daemon restarts, server up: every event arrives as recorded, signed', async (t) => {
  const port = await freePort();
  const env = await startSmppEnv(t, [{ id: 'c1', sim: { receipts: { delayMs: 5 } } }], (cfg) => {
    const clients = cfg.clients as Array<Record<string, unknown>>;
    clients[0]!.webhook_url = `http://127.0.0.1:${port}/hooks`;
    clients[0]!.webhook_secret = SECRET;
    cfg.webhooks = { initial_backoff_ms: 50, max_backoff_ms: 200, timeout_ms: 1000 };
  });
  await waitFor(() => env.app.carriers.get('c1')!.connector.isUp(), 5000, 'bound');
  const ids: string[] = [];
  for (let i = 0; i < 5; i++) {
    const r = await env.app.http.inject({ method: 'POST', url: '/v1/sms', headers: { authorization: `Bearer ${TOKEN}` }, payload: { to: `1380000200${i}`, text: 'hi', category: 'notification', reference: `r${i}` } });
    ids.push(r.json().id);
  }
  await waitFor(() => ids.every((id) => env.app.store.messages.getMessage(id)?.status === 'delivered'), 5000, 'delivered');
  const retries = async () => (await env.app.metrics.webhooks.get()).values.find((v) => v.labels.result === 'retry')?.value ?? 0;
  for (const deadline = Date.now() + 5000; (await retries()) < 5 && Date.now() < deadline; ) await new Promise((r) => setTimeout(r, 20));
  t.ok((await retries()) >= 5, 'every event failed at least once while the server was down');
  await env.restart();
  const got: Received[] = [];
  const server = await hookServer(port, got);
  t.teardown(() => new Promise((r) => server.close(r)));
  await waitFor(() => got.length >= 5, 10000, 'events delivered after restart');
  await new Promise((r) => setTimeout(r, 300));
  const events = got.map((g) => JSON.parse(g.body));
  t.same(events.map((e) => e.message_id).sort(), [...ids].sort(), 'one status event per message');
  t.equal(new Set(got.map((g) => g.headers['x-xinge-event-id'])).size, got.length, 'no duplicates in a clean run');
  for (const g of got) {
    const e = JSON.parse(g.body);
    t.equal(g.headers['x-xinge-event-id'], e.id, 'stable event id in header and body');
    t.match(e, { type: 'message.status', status: 'delivered', category: 'notification' });
    if (hasOpenssl()) t.equal(g.headers['x-xinge-signature'], opensslSignature(SECRET, String(g.headers['x-xinge-timestamp']), g.body));
  }
});
