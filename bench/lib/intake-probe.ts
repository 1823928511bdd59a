import autocannon from 'autocannon';
import { BENCH_TOKEN, startDaemon, startSim } from './procs.js';
const sim = await startSim({ receipts: 'none' });
const d = await startDaemon({ simPort: sim.port, registeredDelivery: 'none' });
const headers = { authorization: `Bearer ${BENCH_TOKEN}`, 'content-type': 'application/json' };
if (process.argv[2] === 'pause') await fetch(`${d.url}/v1/admin/carriers/sim/pause`, { method: 'POST', headers, body: '{}' });
let i = 0;
for (const path of ['/healthz', '/v1/sms']) {
  const r = await autocannon({ url: d.url + path, method: path === '/healthz' ? 'GET' : 'POST', connections: 16, duration: 4, headers,
    requests: [{ setupRequest: (req) => ({ ...req, body: path === '/healthz' ? undefined : JSON.stringify({ to: `138${String(i++).padStart(8, '0')}`, text: 'hello', category: 'notification' }) }) }] });
  console.log(path, Math.round(r.requests.average), 'req/s p50', r.latency.p50, 'p99', r.latency.p99, 'non2xx', r.non2xx);
}
await d.stop(); await sim.stop();
