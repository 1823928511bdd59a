/**
 * Issue 20.4: the simulator's inbox page in a real browser (Debian's Chromium, driven by
 * playwright-core): the phone appears, its messages read as a handset shows them (a
 * three-part Chinese message joined and intact, the receipt status), and a reply typed on
 * the page reaches the daemon as an MO over the SMPP bind (退订 opts the number out); an
 * MMS from the built-in MMSC shows as its subject and slides, the image loaded. The
 * screenshot is kept in artifacts/sim-inbox.png.
 */
import t from 'tap';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { eventually, startDemo } from '../helpers/demo-daemon.js';
import { REPO } from '../foundation/fixtures/daemon.js';
import { requireTool } from '../helpers/system-tool.js';

const CHROMIUM = '/usr/bin/chromium';
const PHONE = '13800138000';
export const SCREENSHOT = join(REPO, 'artifacts', 'sim-inbox.png');

t.test('inbox page: messages as the handset shows them, and a reply as an MO', async (t) => {
  if (!requireTool(t, CHROMIUM, 'chromium')) return;
  const demo = await startDemo(t);
  await eventually(async () => ((await demo.call('GET', '/readyz')).status === 200 ? true : undefined), 'readyz');
  const long = '尊敬的客户：您在信鸽小贷的借款（合同号A-20261206）将于12月10日到期，应还金额3,280.50元。请于到期日前完成还款，以免产生逾期记录。如已还款请忽略本短信，谢谢！'.repeat(2);
  const sent = await demo.call('POST', '/v1/sms', { to: PHONE, text: long, category: 'notification' });
  t.equal(sent.status, 202);
  t.ok(sent.json.segments >= 3, `${sent.json.segments} parts on the wire`);
  await eventually(async () => {
    const r = await demo.call('GET', `/v1/messages/${sent.json.id}`);
    return r.json.status === 'delivered' ? true : undefined;
  }, 'delivered');
  const png = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg==', 'base64');
  const mms = await demo.call('POST', '/v1/mms', {
    to: PHONE,
    category: 'notification',
    subject: '还款提醒',
    parts: [
      { content_type: 'text/plain', text: '扫码还款' },
      { content_type: 'image/png', filename: 'qr.png', content_base64: png.toString('base64') },
    ],
  });
  t.equal(mms.status, 202, 'MMS accepted');
  await eventually(async () => {
    const r = await demo.call('GET', `/v1/messages/${mms.json.id}`);
    return r.json.status === 'delivered' ? true : undefined;
  }, 'MMS delivered');

  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    // No network here but loopback: without these Chromium keeps trying outside hosts.
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  t.teardown(() => browser.close());
  const page = await browser.newPage({ viewport: { width: 900, height: 700 } });
  await page.goto(`${demo.sim}/sim/`);
  const phoneItem = page.locator('#phones li[data-number="8613800138000"]');
  await phoneItem.waitFor({ timeout: 20000 });
  await phoneItem.click();
  const bubble = page.locator('.msg.in').first();
  await bubble.waitFor({ timeout: 20000 });
  await page.locator('.msg.in .receipt.DELIVRD').first().waitFor({ timeout: 20000 });
  const shown = await bubble.evaluate((el) => el.firstChild?.textContent ?? '');
  t.equal(shown, `【信鸽演示】${long}`, 'one bubble: the parts joined, Chinese intact');
  t.match(await bubble.locator('.meta').textContent(), new RegExp(`${sent.json.segments}/${sent.json.segments} part`), 'all parts arrived');
  t.equal(await bubble.getAttribute('data-receipt'), 'DELIVRD', 'receipt status shown');
  t.equal(await page.locator('#number').textContent(), '+8613800138000');

  const mmsBubble = page.locator('.msg.mms').first();
  await mmsBubble.waitFor({ timeout: 20000 });
  t.equal(await mmsBubble.locator('.subject').textContent(), '还款提醒', 'the MMS subject');
  t.ok((await mmsBubble.locator('.slide').count()) >= 1, 'shown as slides');
  t.match(await mmsBubble.locator('.slide p').first().textContent(), /扫码还款$/, 'the slide text');
  const img = mmsBubble.locator('.slide img').first();
  await img.waitFor({ timeout: 20000 });
  await page.waitForFunction((el) => (el as unknown as { complete: boolean }).complete, await img.elementHandle(), { timeout: 20000 });
  t.equal(await img.evaluate((el) => (el as unknown as { naturalWidth: number }).naturalWidth), 1, 'the image loaded from the simulator');

  await page.locator('#text').fill('退订');
  await page.locator('#send').click();
  await page.locator('.msg.out').first().waitFor({ timeout: 20000 });
  t.equal(await page.locator('.msg.out').first().evaluate((el) => el.firstChild?.textContent ?? ''), '退订', 'the reply shows on the handset');
  const opted = await eventually(async () => {
    const r = await demo.call('GET', `/v1/optouts/${PHONE}`);
    return r.status === 200 ? r.json : undefined;
  }, 'the daemon to act on the reply');
  t.same(opted, { number: '+8613800138000', opted_out: true }, 'the MO went over SMPP to the daemon, which opted the number out');

  mkdirSync(join(REPO, 'artifacts'), { recursive: true });
  await page.screenshot({ path: SCREENSHOT, fullPage: true });
  t.ok(existsSync(SCREENSHOT), `screenshot: ${SCREENSHOT}`);
});
