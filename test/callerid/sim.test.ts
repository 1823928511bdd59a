/**
 * Issue 18, point 6: the caller-ID provider simulator — its authentication answers, the
 * configurable review timeline, faults for a while, forced statuses, its HTTP commands, and
 * `xinge sim --callerid-port` in a child process.
 */
import t from 'tap';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { request } from 'undici';
import { BuiltinProvider } from '../../src/callerid/builtin-provider.js';
import type { CardFields } from '../../src/callerid/provider.js';
import { callerIdSimOptions, parseFail } from '../../src/sim/callerid-provider-cli.js';
import { APP_KEY, APP_SECRET, Clock, cardBody, startProviderSim } from './helpers.js';

type T = { teardown(fn: () => unknown): void };
const fields = (over: Record<string, unknown> = {}) => cardBody(over) as unknown as CardFields;

function provider(t: T, baseUrl: string, o: { now?: () => number; key?: string; secret?: string } = {}) {
  const p = new BuiltinProvider({
    baseUrl, appKey: o.key ?? APP_KEY, appSecret: o.secret ?? APP_SECRET, timeoutMs: 3000, maxAttempts: 1,
    backoff: { initialMs: 1, maxMs: 10 }, ...(o.now ? { now: o.now } : {}),
  });
  t.teardown(() => p.close());
  return p;
}

t.test('authentication answers: missing headers, unknown app key, a request id reused for another request, paths', async (t) => {
  const sim = await startProviderSim(t);
  const bare = await request(`${sim.baseUrl}/v1/cards`, { method: 'POST', body: '{}' });
  t.equal(bare.statusCode, 401);
  t.match(await bare.body.json(), { code: 'missing_header' });
  await t.rejects(provider(t, sim.baseUrl, { key: 'someone-else' }).create(fields(), 'r1'), { code: 'provider_auth_failed', providerCode: 'unknown_app_key' });
  const p = provider(t, sim.baseUrl);
  const card = await p.create(fields(), 'r2');
  await t.rejects(p.get(card.cardId, 'r2'), { code: 'provider_refused', status: 409, providerCode: 'request_id_reused' });
  const outside = await request(sim.baseUrl.replace('/callerid', '/other/v1/cards'));
  t.equal(outside.statusCode, 404);
  await outside.body.dump();
});

t.test('configurable delays, faults for a while on the simulator clock, forced statuses', async (t) => {
  const clock = new Clock();
  const sim = await startProviderSim(t, { now: clock.now, reviewMs: 1000, activateMs: 0, validityDays: 1 });
  const p = provider(t, sim.baseUrl, { now: clock.now });
  const card = await p.create(fields(), 'c1');
  t.equal((await p.get(card.cardId, 'g1')).status, 'pending_review');
  clock.advance(1000);
  t.equal((await p.get(card.cardId, 'g2')).status, 'active', 'activate_ms 0: approved and active at once');
  sim.failFor(429, 5000, 2);
  await t.rejects(p.get(card.cardId, 'g3'), { code: 'provider_unavailable', status: 429, retryAfterMs: 2000 });
  clock.advance(4999);
  await t.rejects(p.get(card.cardId, 'g4'), { code: 'provider_unavailable', status: 429 });
  clock.advance(1);
  t.equal((await p.get(card.cardId, 'g5')).status, 'active', 'the fault ends with its time');
  sim.setStatus(card.cardId, 'suspended', 'complaints');
  t.match(await p.get(card.cardId, 'g6'), { status: 'suspended', reason: 'complaints' });
  clock.advance(86_400_000);
  sim.setStatus(card.cardId, 'active');
  sim.rejectCard(card.cardId, 'ignored once reviewed');
  t.equal((await p.get(card.cardId, 'g7')).status, 'active', 'a forced status wins over the timeline');
});

t.test('commands over HTTP: reject, fail, clear, status, cards', async (t) => {
  const sim = await startProviderSim(t, { reviewMs: 0, activateMs: 60_000 });
  const cmd = async (path: string, body?: unknown) => {
    const r = await request(`${sim.baseUrl}/_sim/${path}`, { method: body === undefined ? 'GET' : 'POST', ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
    return { status: r.statusCode, json: (await r.body.json()) as Record<string, unknown> };
  };
  const p = provider(t, sim.baseUrl);
  t.equal((await cmd('reject', { reason: 'name not licensed' })).status, 200);
  const card = await p.create(fields(), 'h1');
  t.match(await p.get(card.cardId, 'h2'), { status: 'rejected', reason: 'name not licensed' });
  await cmd('fail', { status: 503, ms: 60_000, retry_after_s: 1 });
  await t.rejects(p.get(card.cardId, 'h3'), { code: 'provider_unavailable', status: 503 });
  await cmd('clear', {});
  await cmd('status', { card_id: card.cardId, status: 'expired' });
  t.equal((await p.get(card.cardId, 'h4')).status, 'expired');
  t.match((await cmd('cards')).json, { cards: [{ card_id: card.cardId, status: 'expired', numbers: ['+8657188880000'] }] });
  t.equal((await cmd('nonsense', {})).status, 400);
});

t.test('flags', async (t) => {
  t.equal(callerIdSimOptions({}), undefined, 'off without --callerid-port');
  t.throws(() => callerIdSimOptions({ calleridReject: 'x' }), /--callerid-reject needs --callerid-port/);
  t.same(callerIdSimOptions({ calleridPort: '0', calleridSecret: 's', calleridReviewMs: '10', calleridValidityDays: '30' }), {
    port: 0, apps: { 'xinge-app': 's' }, reviewMs: 10, validityDays: 30,
  });
  t.throws(() => callerIdSimOptions({ calleridPort: '0', calleridReviewMs: 'soon' }), /--callerid-review-ms expects a non-negative integer/);
  t.same(parseFail('503:60000:5'), { status: 503, ms: 60000, retryAfterS: 5 });
  t.throws(() => parseFail('500:1'), /STATUS 429 or 503/);
});

t.test('xinge sim --callerid-port: the provider in its own process, with its flags', async (t) => {
  const cli = fileURLToPath(new URL('../../src/cli.ts', import.meta.url));
  const child = spawn(process.execPath, ['--import', 'tsx', cli, 'sim', '--port', '0', '--callerid-port', '0', '--callerid-app-key', APP_KEY,
    '--callerid-secret', APP_SECRET, '--callerid-review-ms', '0', '--callerid-fail', '503:600000:3'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  t.teardown(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  let out = '';
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no caller-ID line in: ${out}`)), 60_000);
    child.stdout.on('data', (b: Buffer) => {
      out += b.toString();
      const m = /caller-ID provider listening on (\S+)/.exec(out);
      if (m !== null) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    });
  });
  t.match(out, /SMSC listening on/);
  const p = provider(t, url);
  await t.rejects(p.create(fields(), 'x1'), { code: 'provider_unavailable', status: 503, retryAfterMs: 3000 }, '--callerid-fail');
  await (await request(`${url}/_sim/clear`, { method: 'POST' })).body.dump();
  const card = await p.create(fields(), 'x2');
  t.equal((await p.get(card.cardId, 'x3')).status, 'approved', '--callerid-review-ms 0');
  child.kill('SIGTERM');
  t.equal(await exited, 0, 'stops on SIGTERM');
});
