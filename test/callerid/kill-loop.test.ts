/**
 * kill -9 in a loop while caller-ID cards are registered (SPEC 10 and 13): clients post
 * POST /v1/caller-id as fast as the daemon answers, the provider simulator (in this process,
 * so it outlives each kill) makes the cards, and the daemon is killed with SIGKILL at a random
 * moment, four times, often while it waits for the provider. A registration is stored with its
 * X-Request-Id before the provider is called, so after a last start every registration stored
 * (answered or cut by a kill) has exactly one card: a create whose answer the kill lost is
 * sent again with the same X-Request-Id, and the provider answers it from its cache.
 */
import t from 'tap';
import Database from 'better-sqlite3';
import { tempDir } from '../helpers/fixtures.js';
import { killCycles, startReady } from '../helpers/kill-under-load.js';
import { daemonConfig, freePort, http } from '../foundation/fixtures/daemon.js';
import { APP_KEY, APP_SECRET, LOGO, cardBody, startProviderSim } from './helpers.js';

const CYCLES = 4;
const CLIENTS = 8;
const CID_TOKEN = 'kill-loop-callerid-token';

t.setTimeout(360_000); // four starts of a daemon under tsx, then the pending creates are retried

t.test(`kill -9 at random moments while cards are registered, ${CYCLES} times: one card per registration`, async (t) => {
  const dir = tempDir(t);
  const sim = await startProviderSim(t);
  // One organisation number per registration: a card's numbers are its own.
  const numbers = Array.from({ length: 4000 }, (_, i) => `+86571${String(10_000_000 + i)}`);
  const storePath = `${dir}/xinge.db`;
  const start = async (name: string) => {
    const httpPort = await freePort();
    const cfg = daemonConfig(dir, httpPort, await freePort(), { simulator: { enabled: false } }) as Record<string, any>;
    cfg.store = { path: storePath };
    cfg.carriers = [];
    cfg.routing = {};
    cfg.clients.push({ name: 'cid', token: CID_TOKEN, scopes: ['callerid'] });
    cfg.caller_id = {
      base_url: sim.baseUrl, app_key: APP_KEY, app_secret: APP_SECRET, numbers, timeout_ms: 3000, max_attempts: 3,
      backoff: { initial_ms: 1, max_ms: 50 }, poll_s: 1, poll_max_s: 2, logo: { max_bytes: 150 },
    };
    const d = await startReady(t, dir, name, cfg, httpPort);
    return { d, httpPort };
  };

  const acked = new Set<string>();
  let n = 0;
  await killCycles(t, {
    cycles: CYCLES, clients: CLIENTS, what: 'registrations', acked, start,
    send: async (httpPort) => {
      const number = numbers[n++ % numbers.length]!;
      const r = await http(httpPort, 'POST', '/v1/caller-id', cardBody({ numbers: [number], logo_png_base64: LOGO.toString('base64') }), CID_TOKEN);
      if (r.status === 202) acked.add(r.json.id as string);
      else if (r.status >= 500) throw new Error(`${r.status} ${r.text}`);
    },
  });

  const { d } = await start('last');
  const rows = () => {
    const db = new Database(storePath, { readonly: true, fileMustExist: true });
    try {
      return db.prepare('SELECT id, card_id, pending_op FROM callerid_registrations').all() as Array<{ id: string; card_id: string | null; pending_op: string | null }>;
    } finally {
      db.close();
    }
  };
  const deadline = Date.now() + 120_000;
  while (rows().some((r) => r.card_id === null) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 250));
  const all = rows();
  const stored = new Set(all.map((r) => r.id));
  t.same([...acked].filter((id) => !stored.has(id)).slice(0, 5), [], `all ${acked.size} registrations answered 202 are stored`);
  const cardless = all.filter((r) => r.card_id === null).map((r) => `${r.id} ${r.pending_op}`);
  t.same(cardless.slice(0, 5), [], `every one of the ${all.length} stored registrations has its card (${cardless.length} not)`);
  const cardIds = all.map((r) => r.card_id);
  t.equal(new Set(cardIds).size, all.length, 'no two registrations share a card');
  t.equal(sim.cards().length, all.length, `the provider made ${sim.cards().length} cards for ${all.length} registrations: none twice`);
  d.child.kill('SIGTERM');
  await d.exited;
});
