/**
 * kill -9 in a loop with status webhooks on (SPEC 6 and 13): messages come in over HTTP, the
 * SMSC simulator runs in a process of its own (it outlives each kill and sends a receipt
 * again when it was never answered), the client's webhook receiver refuses one delivery in
 * five with a 500, and the daemon is killed with SIGKILL at a random moment, four times.
 * After a last start every message answered 202 has reached the receiver as a `delivered`
 * status event, at least once, and every repeat of an event carries that event's id.
 */
import t from 'tap';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tempDir } from '../helpers/fixtures.js';
import { startSimProcess } from '../helpers/sim-process.js';
import { killCycles, startReady } from '../helpers/kill-under-load.js';
import { daemonConfig, freePort, http } from '../foundation/fixtures/daemon.js';

const CYCLES = 4;
const CLIENTS = 8;

t.setTimeout(360_000); // four starts of a daemon under tsx, then the backlog and its webhooks drain

t.test(`kill -9 at random moments with webhooks on, ${CYCLES} times: every 202 reaches the client as delivered`, async (t) => {
  const dir = tempDir(t);
  const simPort = await freePort();
  await startSimProcess(t, ['--port', String(simPort), '--receipt-delay-ms', '50', '--receipt-retry-ms', '200'], simPort);

  // message id → status → the event ids it came with; one delivery in five refused.
  const events = new Map<string, Map<string, Set<string>>>();
  let posts = 0;
  let refused = 0;
  const receiver = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      if (++posts % 5 === 0) {
        refused++;
        res.writeHead(500).end();
        return;
      }
      const e = JSON.parse(body) as { type: string; message_id?: string; status?: string };
      if (e.type === 'message.status' && e.message_id !== undefined && e.status !== undefined) {
        const byStatus = events.get(e.message_id) ?? new Map<string, Set<string>>();
        byStatus.set(e.status, (byStatus.get(e.status) ?? new Set()).add(String(req.headers['x-xinge-event-id'])));
        events.set(e.message_id, byStatus);
      }
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', () => r()));
  t.teardown(() => receiver.close());
  const hookUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks`;

  const storePath = `${dir}/xinge.db`;
  const start = async (name: string) => {
    const httpPort = await freePort();
    const cfg = daemonConfig(dir, httpPort, simPort, { simulator: { enabled: false } }) as Record<string, any>;
    cfg.store = { path: storePath };
    cfg.carriers[0].tps = 500; // slower than intake: at the kill there is queued work and work on the wire
    Object.assign(cfg.clients[0], { webhook_url: hookUrl, webhook_secret: 'whsec-kill-loop', allow_private_callbacks: true });
    cfg.webhooks = { initial_backoff_ms: 50, max_backoff_ms: 500, timeout_ms: 2000 };
    const d = await startReady(t, dir, name, cfg, httpPort);
    return { d, httpPort };
  };

  const acked = new Set<string>();
  let n = 0;
  await killCycles(t, {
    cycles: CYCLES, clients: CLIENTS, what: 'messages', acked, start,
    send: async (httpPort, c) => {
      const i = n++;
      if (c % 4 === 0) {
        const messages = Array.from({ length: 20 }, (_, j) => ({ to: `137${String(i * 20 + j).padStart(8, '0').slice(-8)}`, text: `批量 ${i}-${j}`, category: 'notification' }));
        const r = await http(httpPort, 'POST', '/v1/sms/batch', { messages });
        if (r.status === 202) for (const x of r.json.results as Array<{ id?: string }>) if (x.id !== undefined) acked.add(x.id);
      } else {
        const r = await http(httpPort, 'POST', '/v1/sms', { to: `136${String(i).padStart(8, '0').slice(-8)}`, text: `还款提醒 ${i}`, category: 'notification' });
        if (r.status === 202) acked.add(r.json.id as string);
      }
    },
  });

  const { d } = await start('last');
  const waiting = () => [...acked].filter((id) => events.get(id)?.has('delivered') !== true);
  const deadline = Date.now() + 180_000;
  while (waiting().length > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 250));
  const left = waiting();
  t.same(left.slice(0, 5), [], `every one of the ${acked.size} messages answered 202 reached the client as delivered (${left.length} not)`);
  const split = [...events].flatMap(([id, byStatus]) => [...byStatus].filter(([, ids]) => ids.size > 1).map(([status, ids]) => `${id} ${status}: ${[...ids].join(', ')}`));
  t.same(split.slice(0, 5), [], 'each status event kept one event id through its repeats');
  t.ok(refused > 0, `the receiver refused ${refused} of ${posts} deliveries`);
  d.child.kill('SIGTERM');
  await d.exited;
});
