/** SMPP over TLS (carrier `tls: true`) against the simulator's TLS listener; a throwaway self-signed test certificate. */
import t from 'tap';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { BindPool } from '../../src/carriers/smpp/bind-pool.js';
import { SmppSession } from '../../src/carriers/smpp/session.js';
import type { SmppMetrics } from '../../src/carriers/smpp/metrics.js';
import { carrierFor, segment, startSim, until } from './helpers.js';

const dir = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures');
const key = readFileSync(path.join(dir, 'tls-key.pem'));
const cert = readFileSync(path.join(dir, 'tls-cert.pem'));

t.test('binds and submits over TLS, with TCP_NODELAY on the underlying socket', async (t) => {
  const sim = await startSim({ tls: { key, cert } });
  t.teardown(() => sim.stop());
  const pool = new BindPool(carrierFor(sim.port, { tls: true }), { tls: { ca: cert } });
  t.teardown(() => pool.stop(0));
  pool.start();
  await until(() => pool.isUp());
  t.same(await pool.submit(segment()), { kind: 'accepted', carrierMessageId: '1' });
  t.equal(sim.recorder.submits[0]!.destination, '8613800138000');

  const s = new SmppSession({ host: '127.0.0.1', port: sim.port, tls: { ca: cert }, mode: 'transmitter', systemId: 'xinge', password: 'secret', window: 1, responseTimeoutMs: 2000, enquireLinkMs: 10000 });
  await s.connect();
  t.teardown(() => s.close());
  t.equal(s.socket!.constructor.name, 'TLSSocket');
  const sym = Object.getOwnPropertySymbols(s.tcpSocket!).find((x) => x.description === 'kSetNoDelay');
  t.equal(sym && (s.tcpSocket as unknown as Record<symbol, boolean>)[sym], true, 'TCP_NODELAY on the TCP socket under TLS');
});

t.test('an untrusted certificate fails the connect (counted), and the pool keeps retrying', async (t) => {
  const sim = await startSim({ tls: { key, cert } });
  t.teardown(() => sim.stop());
  const failures: string[] = [];
  const metrics: SmppMetrics = { bindFailure: (_c, name) => void failures.push(name) };
  const pool = new BindPool(carrierFor(sim.port, { tls: true }), { metrics });
  t.teardown(() => pool.stop(0));
  pool.start();
  await until(() => failures.length >= 2, 3000);
  t.equal(failures[0], 'connect_failed');
  t.equal(sim.recorder.binds.length, 0, 'no bind_* ever reached the SMSC');
  t.notOk(pool.isUp());
});
