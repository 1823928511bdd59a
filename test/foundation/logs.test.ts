/**
 * Issue 2, point 4: at level trace, every line written while messages are accepted,
 * dispatched and answered (receipts, a reply, OTP send and verify, URLs carrying a number)
 * holds no phone number in any form, no message text, no OTP code and no token.
 * In process with a capturing logger, then a child-process daemon on the built-in simulator.
 */
import t from 'tap';
import { ADMIN_TOKEN, BODY_KEY, OTP_SECRET, TOKEN, auth, baseConfigObject, makeConfig, startTestApp, tempDir, waitFor } from '../helpers/fixtures.js';
import { CHILD_TOKEN, daemonConfig, freePort, http, startDaemon, waitReady, writeYaml } from './fixtures/daemon.js';

const NUMBERS = ['13800138000', '13900139000', '13700137000'];
/** Every form the API accepts, and the SMPP wire form: the bare 11 digits cover the others as substrings. */
const FORMS = NUMBERS.flatMap((n) => [n, `86${n}`, `+86${n}`, `${n.slice(0, 3)} ${n.slice(3, 7)} ${n.slice(7)}`, `${n.slice(0, 3)}-${n.slice(3, 7)}-${n.slice(7)}`]);
const TEXT = 'quokka-private-text';
const TEXT_ZH = '借款人张三逾期';
const OWN_CODE = '590317';

function leaks(lines: string[], secrets: string[], codes: string[]): string[] {
  const found: string[] = [];
  for (const line of lines) {
    for (const s of secrets) if (line.includes(s)) found.push(`${s} in ${line}`);
    for (const c of codes) if (new RegExp(`(?<!\\d)${c}(?!\\d)`).test(line)) found.push(`code ${c} in ${line}`);
  }
  return found;
}

const decodeUcs2 = (b: Buffer) => Buffer.from(b).swap16().toString('utf16le');

t.test('in process at trace: no number, text, code or token in any line', async (t) => {
  const dir = tempDir(t);
  const obj = baseConfigObject(dir) as Record<string, any>;
  obj.log.level = 'trace';
  const ta = startTestApp(makeConfig(obj), { level: 'trace' });
  t.teardown(() => ta.close());
  const fc = ta.connectors.get('c1')!;
  let n = 1;
  fc.respond = (seg) => (seg.to.endsWith('37000') ? { kind: 'rejected', commandStatus: 0x0b, statusName: 'ESME_RINVDSTADR' } : { kind: 'accepted', carrierMessageId: String(n++) });
  await ta.app.start();
  const post = (url: string, payload: unknown, token = TOKEN, headers: Record<string, string> = {}) =>
    ta.app.http.inject({ method: 'POST', url, headers: { ...auth(token), ...headers }, payload: payload as object });

  const ids: string[] = [];
  for (const [i, to] of ['+8613800138000', '8613800138000', '13800138000', '138 0013 8000'].entries()) {
    const r = await post('/v1/sms', { to, text: `${TEXT} ${TEXT_ZH} ${i}`, category: 'notification', reference: `ref-${i}` }, TOKEN, { 'idempotency-key': `key-${i}` });
    t.equal(r.statusCode, 202, r.body);
    ids.push(r.json().id);
  }
  const own = await post('/v1/sms', { to: '13900139000', text: `您的验证码是${OWN_CODE}`, category: 'otp' });
  t.equal(own.statusCode, 202, own.body);
  const rejected = await post('/v1/sms', { to: '13700137000', text: TEXT, category: 'notification' });
  t.equal(rejected.statusCode, 202);
  const otp = await post('/v1/otp', { to: '+8613700137000', purpose: 'login' });
  t.equal(otp.statusCode, 202, otp.body);
  const batch = await post('/v1/sms/batch', { messages: [{ to: '13800138000', text: TEXT, category: 'marketing' }, { to: '1380013800', text: TEXT, category: 'marketing' }] });
  t.equal(batch.statusCode, 202);
  // Refusals that quote nothing back into the logs either.
  t.equal((await post('/v1/sms', { to: '13800138000', text: TEXT, category: 'bogus' })).statusCode, 400);
  t.equal((await ta.app.http.inject({ method: 'POST', url: '/v1/sms', headers: { ...auth(), 'content-type': 'application/json' }, payload: `{"to":"13800138000","text":"${TEXT}` })).statusCode, 400);
  t.equal((await post('/v1/sms', { to: '13800138000', text: TEXT, category: 'notification' }, 'bogus-token-never-logged')).statusCode, 401);
  t.equal((await post('/v1/sms', { to: '13800138000', text: `${TEXT} changed`, category: 'notification' }, TOKEN, { 'idempotency-key': 'key-0' })).statusCode, 409);

  // URLs carrying a number.
  const opt = await post('/v1/optouts', { number: '13700137000' }, ADMIN_TOKEN);
  t.equal(opt.statusCode, 201);
  for (const url of ['/v1/optouts/13800138000', '/v1/optouts/%2B8613700137000', '/v1/optouts/138%200013%208000', '/v1/optouts/138-0013-8000', '/v1/optouts?after=%2B8613800138000']) {
    const r = await ta.app.http.inject({ method: 'GET', url, headers: auth(ADMIN_TOKEN) });
    t.ok([200, 404].includes(r.statusCode), `${url} → ${r.statusCode}`);
  }
  t.equal((await ta.app.http.inject({ method: 'DELETE', url: '/v1/optouts/8613700137000', headers: auth(ADMIN_TOKEN) })).statusCode, 200);
  t.equal((await ta.app.http.inject({ method: 'GET', url: `/v1/messages/${ids[0]}?to=13800138000&text=${TEXT}`, headers: auth() })).statusCode, 200);

  // Dispatched, answered, receipted; the OTP code read off the wire and verified.
  await waitFor(() => fc.submits.length >= 8, 5000, 'all submits');
  await waitFor(() => ids.every((id) => ta.app.store.messages.getMessage(id)?.status === 'submitted'), 5000, 'submitted');
  const otpSeg = fc.submits.find((s) => s.lane === 'otp' && s.to === '8613700137000')!;
  const code = /\d{6}/.exec(decodeUcs2(otpSeg.part.shortMessage))?.[0];
  t.ok(code, 'the generated code is on the wire');
  const wrong = code === '000000' ? '111111' : '000000';
  t.match((await post('/v1/otp/verify', { id: otp.json().id, code: wrong })).json(), { valid: false });
  t.match((await post('/v1/otp/verify', { id: otp.json().id, code })).json(), { valid: true });
  t.match((await post('/v1/otp/verify', { to: '13700137000', purpose: 'login', code })).json(), { valid: false });
  for (let i = 1; i < n; i++) t.equal(await fc.receipt(String(i), i % 2 === 0 ? 'DELIVRD' : 'UNDELIV'), 0);
  t.equal(await fc.receipt('999999', 'DELIVRD'), 0, 'an unmatched receipt (logged)');
  // A reply from the borrower, with an opt-out keyword.
  const ack = await new Promise<number>((resolve) =>
    fc.emit('deliver', {
      carrierId: 'c1', bindIndex: 0, isReceipt: false, esmClass: 0, dataCoding: 0, sourceAddr: '8613800138000', destinationAddr: '10690000',
      shortMessage: Buffer.from('TD'), tlvs: {}, ack: (s = 0) => resolve(s),
    }),
  );
  t.equal(ack, 0);
  ta.app.runMaintenance();

  t.ok(ta.lines.length >= 20, `${ta.lines.length} lines captured`);
  t.ok(ta.lines.some((l) => l.includes('"url":"/v1/optouts/')), 'request lines with those URLs were written (masked)');
  t.ok(ta.lines.some((l) => /"level":(10|20)/.test(l)), 'trace/debug lines present');
  const found = leaks(ta.lines, [...FORMS, TEXT, TEXT_ZH, TOKEN, ADMIN_TOKEN, 'bogus-token-never-logged', OTP_SECRET, BODY_KEY], [OWN_CODE, code!]);
  t.same(found, [], 'nothing leaked');
});

t.test('child-process daemon at trace on the built-in simulator: stdout holds no number, text, code or token', async (t) => {
  const dir = tempDir(t);
  const [httpPort, simPort] = [await freePort(), await freePort()];
  const cfg = daemonConfig(dir, httpPort, simPort, { log: { level: 'trace' } });
  const d = startDaemon(writeYaml(dir, 'trace.yaml', cfg));
  t.teardown(() => d.kill());
  await waitReady(d, httpPort);
  const ids: string[] = [];
  for (const [i, to] of ['+8613800138000', '8613800138000', '13800138000', '13900139000'].entries()) {
    const r = await http(httpPort, 'POST', '/v1/sms', { to, text: `${TEXT} ${TEXT_ZH} ${'长'.repeat(i * 40)}`, category: 'notification' }, CHILD_TOKEN, { 'idempotency-key': `k${i}` });
    t.equal(r.status, 202, r.text);
    ids.push(r.json.id);
  }
  const own = await http(httpPort, 'POST', '/v1/sms', { to: '13700137000', text: `您的验证码是${OWN_CODE}`, category: 'otp' });
  t.equal(own.status, 202, own.text);
  ids.push(own.json.id);
  const otp = await http(httpPort, 'POST', '/v1/otp', { to: '13900139000', purpose: 'login' });
  t.equal(otp.status, 202, otp.text);
  t.equal((await http(httpPort, 'POST', '/v1/otp/verify', { to: '+8613900139000', purpose: 'login', code: '000001' })).status, 200);
  t.equal((await http(httpPort, 'POST', '/v1/optouts', { number: '8613700137000' })).status, 201);
  for (const path of ['/v1/optouts/13800138000', '/v1/optouts/%2B8613700137000', '/v1/optouts/138-0013-8000', `/v1/messages/${ids[0]}?to=13800138000`]) {
    const r = await http(httpPort, 'GET', path);
    t.ok([200, 404].includes(r.status), `${path} → ${r.status}`);
  }
  t.equal((await http(httpPort, 'POST', '/v1/sms', { to: '13800138000', text: TEXT, category: 'notification' }, 'bogus-token-never-logged')).status, 401);
  // Delivered: accepted, sent over SMPP, answered, receipted by the simulator.
  const deadline = Date.now() + 20000;
  for (const id of ids) {
    for (;;) {
      const g = await http(httpPort, 'GET', `/v1/messages/${id}`);
      if (g.json?.status === 'delivered') break;
      if (Date.now() > deadline) throw new Error(`message ${id} not delivered: ${g.text}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  d.child.kill('SIGTERM');
  const exit = await d.exited;
  t.equal(exit.code, 0, d.stderr().slice(-2000));
  t.ok(d.lines.length >= 15, `${d.lines.length} stdout lines`);
  t.ok(d.lines.some((l) => l.includes('smpp bound')), 'SMPP layer lines included');
  t.ok(d.lines.some((l) => l.includes('"component":"sim"')), 'simulator lines included');
  t.ok(d.lines.some((l) => l.includes('"url":"/v1/optouts/')), 'request lines included');
  const found = leaks(d.lines, [...FORMS, TEXT, TEXT_ZH, '长长长', CHILD_TOKEN, 'bogus-token-never-logged', String(cfg.policy && (cfg.policy as any).otp.secret)], [OWN_CODE]);
  t.same(found, [], 'nothing leaked');
});

t.test('redaction goes by what a value is: diagnostics under any key survive, numbers, codes, text and secrets do not', async (t) => {
  const { Writable } = await import('node:stream');
  const { createLogger, configSecrets } = await import('../../src/observability/logger.js');
  const lines: string[] = [];
  const dest = new Writable({ write: (c, _e, cb) => (lines.push(String(c)), cb()) });
  const cfg = makeConfig(baseConfigObject(tempDir(t)));
  const logger = createLogger('trace', dest, { secrets: configSecrets(cfg) });
  // Diagnostics that key-based censoring used to hide.
  logger.warn({ err: 'connect ECONNREFUSED', code: 'ECONNREFUSED' }, 'smpp socket error');
  logger.warn({ from: 'cmcc', moved: 12 }, 'carrier unavailable: queued segments moved to the next carrier');
  logger.info({ to: 'unicom', number: 3, code: 'ESME_RTHROTTLED', status: 'ESME_RINVDSTADR' }, 'diagnostics');
  // Sensitive values under keys that say nothing of them.
  logger.info({ peer: '13800138000', note: '+86 138-0013-8000', detail: { deep: ['8613800138000'] } }, 'numbers under other keys');
  logger.info({ code: OWN_CODE, attempt: '0590317' }, 'a code under the key code');
  logger.info({ reason: TEXT_ZH, what: `${TEXT_ZH} and more` }, 'Chinese text under other keys');
  logger.info({ header: `Bearer ${TOKEN}`, key: BODY_KEY, hmac: OTP_SECRET }, `secrets in values and in the message ${ADMIN_TOKEN}`);
  logger.error({ err: new Error(`failed for 13800138000 with ${TOKEN}`) }, 'error text');
  const all = lines.join('');
  for (const kept of ['"code":"ECONNREFUSED"', '"from":"cmcc"', '"to":"unicom"', '"code":"ESME_RTHROTTLED"', '"moved":12']) t.ok(all.includes(kept), `${kept} kept`);
  t.same(leaks(lines, [...FORMS, TEXT_ZH, TOKEN, ADMIN_TOKEN, OTP_SECRET, BODY_KEY], [OWN_CODE]), [], 'nothing sensitive');
  t.ok(all.includes('138****8000'), 'numbers masked, not dropped');
});
