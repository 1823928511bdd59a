/**
 * Issue 21, the SMPP server in a cluster: two daemons (buildApp, store.driver postgres, one
 * database) each run smpp_server; one downstream ESME binds a receiver to each with the same
 * system_id. Every deliver_sm owed to it reaches it exactly once (each row is claimed by one
 * node with a lease, removed after its deliver_sm_resp); rows claimed by a node that died
 * are delivered by the live one once the claim runs out, not before.
 */
import t from 'tap';
import { startTestPostgres } from '../helpers/postgres.js';
import { freshPgDatabase } from '../helpers/store-backends.js';
import { waitFor } from '../helpers/fixtures.js';
import { esme, startServerEnv } from '../smpp-server/helpers.js';
import type { Pdu } from '../../src/carriers/smpp/codec.js';

const db = await startTestPostgres(t);
const ROWS = 300;

if (db !== undefined) {
  t.test('an ESME bound to two daemons gets every owed deliver_sm once; a dead node\'s claimed rows after their lease', async (t) => {
    const { url, client } = await freshPgDatabase(t, db);
    const node = (nodeId: string) =>
      startServerEnv(t, {
        patch: (cfg) => {
          cfg.store = { ...(cfg.store as Record<string, unknown>), driver: 'postgres', url };
          cfg.cluster = { node_id: nodeId, node_ttl_ms: 3000, bind_lease_ttl_ms: 3000, statement_timeout_ms: 2000 };
        },
      });
    const [a, b] = [await node('node-a'), await node('node-b')];
    // Owed before the ESME binds (it was away): both nodes start draining at its binds.
    client.run(`INSERT INTO smpp_outbox (system_id, kind, body, created_at)
      SELECT 'legacy', 'mo', json_build_object('kind', 'mo', 'from', '+86138' || lpad(i::text, 6, '0'), 'to', '10690001', 'text', 'm' || i)::text, 0
      FROM generate_series(1, ${ROWS}) i`);
    const got: Array<{ node: string; from: string; at: number }> = [];
    const receiver = async (port: number, name: string) => {
      const rx = esme(port, 'receiver');
      rx.on('deliver', (pdu: Pdu, ack: (s?: number) => void) => {
        got.push({ node: name, from: String(pdu.fields['source_addr']), at: Date.now() });
        ack(0);
      });
      t.teardown(() => rx.close());
      return rx;
    };
    const [rxA, rxB] = [await receiver(a.port, 'a'), await receiver(b.port, 'b')];
    await Promise.all([rxA.connect(), rxB.connect()]);
    const left = () => client.query<{ n: number }>(`SELECT count(*)::int AS n FROM smpp_outbox`)[0]!.n;
    await waitFor(() => left() === 0 && got.length >= ROWS, 30_000, 'every row delivered and removed');
    await new Promise((r) => setTimeout(r, 1000)); // a second delivery of any row would show by now
    const froms = got.map((g) => g.from);
    t.equal(got.length, ROWS, 'as many deliver_sm as rows');
    t.equal(new Set(froms).size, ROWS, 'each row delivered once');
    t.comment(`delivered by node a: ${got.filter((g) => g.node === 'a').length}, by node b: ${got.filter((g) => g.node === 'b').length}`);

    // Rows a node that died had claimed (on its wire when it was killed): the live nodes leave
    // them alone until the claim runs out, then deliver each once.
    got.length = 0;
    const claimUntil = Date.now() + 2000;
    client.run(`INSERT INTO smpp_outbox (system_id, kind, body, created_at, claimed_by, claim_until)
      SELECT 'legacy', 'mo', json_build_object('kind', 'mo', 'from', '+86139' || lpad(i::text, 6, '0'), 'to', '10690001', 'text', 'd' || i)::text, 0,
        'node-dead', $1 FROM generate_series(1, 20) i`, [claimUntil]);
    // A new bind makes its node look at the account's rows at once.
    await (await receiver(b.port, 'b')).connect();
    await waitFor(() => left() === 0 && got.length >= 20, 30_000, 'the dead node\'s rows delivered');
    await new Promise((r) => setTimeout(r, 1000));
    t.equal(got.length, 20, 'each of the dead node\'s rows delivered once');
    t.equal(new Set(got.map((g) => g.from)).size, 20);
    t.ok(got.every((g) => g.at >= claimUntil), 'none before its claim ran out');
  });
}
