/**
 * Issue 15.9: on the embedded default a newcomer completes a successful OTP verify by
 * reading the code off the simulator (GET /sim/messages?to=… on the simulator's own HTTP
 * port), as docs/try-it.md walks through; the daemon's API never serves /sim/, and a
 * production-shaped config (no simulator) serves no simulator port at all. Also: the
 * handset view joins parts, keeps Chinese intact, shows the receipt, and a reply sent from
 * a phone reaches the daemon as an MO over SMPP.
 */
import t from 'tap';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { DEMO_TOKEN, eventually, startDemo } from '../helpers/demo-daemon.js';
import { CLI, REPO, freePort } from '../foundation/fixtures/daemon.js';

const PHONE = '13800138000';

async function simMessages(sim: string, to: string): Promise<any> {
  const res = await fetch(`${sim}/sim/messages?to=${encodeURIComponent(to)}`, { signal: AbortSignal.timeout(10000) });
  return res.json();
}

t.test('the embedded default configures the simulator HTTP port apart from the API', async (t) => {
  const cfg = parse(readFileSync(join(REPO, 'config', 'default.yaml'), 'utf8')) as Record<string, any>;
  t.equal(cfg.simulator.enabled, true);
  t.type(cfg.simulator.http_port, 'number');
  t.not(cfg.simulator.http_port, cfg.http.port, 'not the API port');
  const doc = readFileSync(join(REPO, 'docs', 'try-it.md'), 'utf8');
  t.match(doc, `127.0.0.1:${cfg.simulator.http_port}/sim/messages?to=`, 'docs/try-it.md reads the code off the simulator port');
  t.match(readFileSync(join(REPO, 'README.md'), 'utf8'), 'docs/try-it.md', 'the README points to the walkthrough');
});

t.test('OTP end to end: send, read the code off the simulated phone, verify', async (t) => {
  const demo = await startDemo(t);
  await eventually(async () => ((await demo.call('GET', '/readyz')).status === 200 ? true : undefined), 'readyz');
  const sent = await demo.call('POST', '/v1/otp', { to: PHONE, purpose: 'login' });
  t.equal(sent.status, 202, 'OTP accepted');
  const msg = await eventually(async () => (await simMessages(demo.sim, PHONE)).messages.at(-1), 'the OTP on the phone');
  t.match(msg.text, /验证码是\d{6}/, 'the phone shows the Chinese OTP text');
  t.equal(msg.from.startsWith('10690000'), true, 'from the service code');
  const code = /(\d{6})/.exec(msg.text)![1]!;
  t.same((await demo.call('POST', '/v1/otp/verify', { to: PHONE, purpose: 'login', code: code === '000000' ? '111111' : '000000' })).json, { valid: false, reason: 'mismatch' }, 'a wrong code is refused');
  t.same((await demo.call('POST', '/v1/otp/verify', { id: sent.json.id, code })).json, { valid: true }, 'the code read off the phone verifies');
  // Same number in three spellings.
  for (const spelling of ['+8613800138000', '8613800138000']) t.equal((await simMessages(demo.sim, spelling)).messages.length, 1, spelling);
  const onApi = await fetch(`${demo.api}/sim/messages?to=${PHONE}`);
  t.equal(onApi.status, 404, 'the daemon API does not serve the simulator view');
  const bad = await fetch(`${demo.sim}/sim/messages`);
  t.equal(bad.status, 400, 'no number: 400 naming the field');
  t.equal(((await bad.json()) as any).error.field, 'to');
});

t.test('a long Chinese message shows joined and intact, with its receipt; a reply reaches the daemon as an MO', async (t) => {
  const demo = await startDemo(t);
  await eventually(async () => ((await demo.call('GET', '/readyz')).status === 200 ? true : undefined), 'readyz');
  const text = '尊敬的客户：您在信鸽小贷的借款（合同号A-20261206）将于12月10日到期，应还金额3,280.50元。请于到期日前完成还款，以免产生逾期记录。如已还款请忽略本短信。'.repeat(2);
  const sent = await demo.call('POST', '/v1/sms', { to: PHONE, text, category: 'notification' });
  t.equal(sent.status, 202);
  t.ok(sent.json.segments >= 3, `several parts (${sent.json.segments})`);
  const msg = await eventually(async () => {
    const m = (await simMessages(demo.sim, PHONE)).messages.at(-1);
    return m?.receipt === 'DELIVRD' ? m : undefined;
  }, 'the message delivered on the phone');
  t.equal(msg.parts, sent.json.segments);
  t.equal(msg.parts_total, sent.json.segments);
  t.equal(msg.text, `【信鸽演示】${text}`, 'parts joined, Chinese intact, the signature in front');
  const status = await eventually(async () => {
    const r = await demo.call('GET', `/v1/messages/${sent.json.id}`);
    return r.json.status === 'delivered' ? r : undefined;
  }, 'delivered in the daemon');
  t.equal(status.json.parts.length, sent.json.segments);

  const reply = await fetch(`${demo.sim}/sim/mo`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ from: PHONE, text: 'TD' }) });
  t.equal(reply.status, 202, 'the phone sent its reply');
  t.equal(((await reply.json()) as any).to, msg.from, 'to the number that wrote to it');
  const opted = await eventually(async () => {
    const r = await demo.call('GET', `/v1/optouts/${PHONE}`);
    return r.status === 200 ? r : undefined;
  }, 'the opt-out from the reply');
  t.same(opted.json, { number: '+8613800138000', opted_out: true }, 'the daemon got the MO over SMPP and opted the number out');
  const view = await simMessages(demo.sim, PHONE);
  t.equal(view.replies.length, 1);
  t.equal(view.replies[0].text, 'TD');
});

// A 1x1 PNG.
const PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg==', 'base64');

t.test('an MMS sent through POST /v1/mms shows on the phone as its subject and slides, images served', async (t) => {
  const demo = await startDemo(t);
  await eventually(async () => ((await demo.call('GET', '/readyz')).status === 200 ? true : undefined), 'readyz');
  const sent = await demo.call('POST', '/v1/mms', {
    to: PHONE,
    category: 'notification',
    subject: '还款提醒',
    parts: [
      { content_type: 'text/plain', text: '您的借款将于12月10日到期。' },
      { content_type: 'image/png', filename: 'qr.png', content_base64: PNG.toString('base64') },
      { content_type: 'text/plain', text: '扫码还款，谢谢！' },
    ],
  });
  t.equal(sent.status, 202, JSON.stringify(sent.json));
  await eventually(async () => {
    const r = await demo.call('GET', `/v1/messages/${sent.json.id}`);
    return r.json.status === 'delivered' ? r : undefined;
  }, 'the MMS delivered in the daemon');
  const view = await eventually(async () => {
    const v = await simMessages(demo.sim, PHONE);
    return v.messages.some((m: any) => m.kind === 'mms' && m.receipt === 'Retrieved') ? v : undefined;
  }, 'the MMS on the phone with its report');
  const mms = view.messages.find((m: any) => m.kind === 'mms');
  t.equal(mms.subject, '还款提醒', 'the subject, Chinese intact');
  t.equal(mms.to.replace(/\D/g, '').slice(-11), PHONE);
  t.ok(mms.slides.length >= 1, `${mms.slides.length} slide(s)`);
  const parts = mms.slides.flatMap((s: any) => s.parts);
  const texts = parts.filter((p: any) => p.type === 'text').map((p: any) => p.text);
  t.same(texts, ['【信鸽演示】您的借款将于12月10日到期。', '扫码还款，谢谢！'], 'the text parts in order, the signature in front, Chinese intact');
  const images = parts.filter((p: any) => p.type === 'image');
  t.equal(images.length, 1, 'one image');
  t.equal(images[0].content_type, 'image/png');
  t.match(images[0].url, /^\/sim\/mms\/\d+\/\d+$/);
  const img = await fetch(demo.sim + images[0].url);
  t.equal(img.status, 200);
  t.equal(img.headers.get('content-type'), 'image/png');
  t.same(Buffer.from(await img.arrayBuffer()), PNG, 'the image bytes as sent');
  t.equal((await fetch(`${demo.sim}/sim/mms/999/0`)).status, 404, 'no such MMS part');
  const phones = (await (await fetch(`${demo.sim}/sim/phones`)).json()) as any;
  t.ok(phones.phones.some((p: any) => p.number === '8613800138000' && p.received >= 1), 'the phone is listed');
});

t.test('a production-shaped config (no simulator) serves no simulator port', async (t) => {
  const demo = await startDemo(t, (o) => {
    o.simulator = { enabled: false };
  });
  t.equal(demo.daemon.simWeb, undefined, 'no simulator HTTP server');
  t.equal(demo.daemon.sim, undefined, 'no simulator');
  t.equal((await fetch(`${demo.api}/sim/messages?to=${PHONE}`)).status, 404);
  t.equal((await fetch(`${demo.api}/sim/`)).status, 404);
});

t.test('standalone `xinge sim --http-port N` serves the handset view', async (t) => {
  const [smpp, web] = [await freePort(), await freePort()];
  const child = spawn(process.execPath, ['--import', 'tsx', CLI, 'sim', '--port', String(smpp), '--http-port', String(web)], {
    cwd: REPO,
    env: { PATH: process.env.PATH, HOME: process.env.HOME },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  t.teardown(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  let out = '';
  child.stdout.on('data', (b: Buffer) => (out += b.toString()));
  await eventually(async () => (out.includes('handset inbox') ? true : undefined), 'the sim to start');
  t.match(out, `http://127.0.0.1:${web}/sim/`);
  const res = await fetch(`http://127.0.0.1:${web}/sim/messages?to=${PHONE}`);
  t.same(await res.json(), { to: '8613800138000', messages: [], replies: [] });
  const page = await fetch(`http://127.0.0.1:${web}/sim/`);
  t.match(page.headers.get('content-type'), /text\/html/);
  const noBind = await fetch(`http://127.0.0.1:${web}/sim/mo`, { method: 'POST', body: JSON.stringify({ from: PHONE, to: '10690000', text: 'hi' }) });
  t.equal(noBind.status, 409, 'a reply with no bound ESME says so');
  child.kill('SIGTERM');
  await new Promise((r) => child.once('exit', r));
});

void DEMO_TOKEN;
