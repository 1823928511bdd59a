/** CPU per accepted message through the HTTP intake (inject, no sockets) with an instant connector. */
import { auth, baseConfigObject, makeConfig, startTestApp } from '../../test/helpers/fixtures.js';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const dir = mkdtempSync(join(tmpdir(), 'xinge-micro-'));
const obj = baseConfigObject(dir);
obj.store = { ...(obj.store as object), commit_interval_ms: Number(process.env.CI_MS ?? 2) };
for (const c of obj.clients as Array<Record<string, unknown>>) delete c.webhook_url;
(obj.carriers as Array<Record<string, unknown>>)[0]!.tps = 1e6;
(obj.carriers as Array<Record<string, unknown>>)[0]!.registered_delivery = process.argv[2] ?? 'none';
const ta = startTestApp(makeConfig(obj));
await ta.app.start();
ta.connectors.get('c1')!.window = 200;
const N = 5000;
let i = 0;
const one = () =>
  ta.app.http.inject({ method: 'POST', url: '/v1/sms', headers: { ...auth(), 'content-type': 'application/json' }, payload: JSON.stringify({ to: `138${String(i++).padStart(8, '0')}`, text: 'Your repayment is due tomorrow.', category: 'notification' }) });
const c0 = process.cpuUsage();
const t0 = performance.now();
await Promise.all(Array.from({ length: 16 }, async () => { while (i < N) await one(); }));
const fc = ta.connectors.get('c1')!;
while (fc.submits.length < N) await new Promise((r) => setTimeout(r, 5));
const c = process.cpuUsage(c0);
console.log('intake+dispatch', Math.round((c.user + c.system) / N), 'cpu us/msg', Math.round(N / ((performance.now() - t0) / 1000)), 'msg/s', 'user', Math.round(c.user / N), 'sys', Math.round(c.system / N));
await ta.close();
