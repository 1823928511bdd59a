/**
 * Monotonic time (issue 14 point 7): response timeouts and the carrier rate buckets measure
 * intervals on a monotonic clock, so a wall clock stepped backwards (NTP, `date -s`) stalls
 * neither. The step is simulated by moving Date.now back an hour for the test's duration.
 */
import t from 'tap';
import { SmppSession } from '../../src/carriers/smpp/session.js';
import { baseConfigObject, FakeConnector, makeConfig, tempDir } from '../helpers/fixtures.js';
import { buildApp } from '../../src/app.js';
import { createLogger } from '../../src/observability/logger.js';
import { realConnectors } from '../../src/daemon.js';
import { startSim } from './helpers.js';

/** Step the wall clock back by `ms` until the returned function is called. */
function stepWallClockBack(ms: number): () => void {
  const real = Date.now;
  Date.now = () => real() - ms;
  return () => {
    Date.now = real;
  };
}

t.test('a response timeout fires on time although the wall clock stepped back an hour', async (t) => {
  const sim = await startSim({ respDelayMs: 600000 });
  t.teardown(() => sim.stop());
  const s = new SmppSession({ host: '127.0.0.1', port: sim.port, mode: 'transceiver', systemId: 'xinge', password: 'secret', window: 1, responseTimeoutMs: 300, enquireLinkMs: 30000 });
  t.teardown(() => s.close());
  await s.connect();
  const started = performance.now();
  const outcome = s.submit({
    sourceAddrTon: 0, sourceAddrNpi: 1, sourceAddr: '1069', destAddrTon: 1, destAddrNpi: 1,
    destinationAddr: '8613800138000', esmClass: 0, registeredDelivery: 0, dataCoding: 0, shortMessage: Buffer.from('hi'),
  });
  const restore = stepWallClockBack(3_600_000);
  t.teardown(restore);
  const result = await Promise.race([outcome, new Promise((r) => setTimeout(() => r('stalled'), 5000))]);
  restore();
  t.same(result, { kind: 'timeout' }, `timed out after ${Math.round(performance.now() - started)} ms, not an hour later`);
});

t.test("the app's carrier rate bucket keeps refilling when the wall clock steps back", async (t) => {
  const dir = tempDir(t);
  const cfg = makeConfig(baseConfigObject(dir, [{ id: 'c1', host: '127.0.0.1', port: 1, tps: 10, burst: 10 }]));
  const rateFactory = realConnectors().rateFactory;
  const app = buildApp({
    config: cfg,
    logger: createLogger('silent'),
    // The wall clock, read through Date.now at each call (so the step below is seen by it).
    now: () => Date.now(),
    connectorFactory: (c) => new FakeConnector(c.id),
    rateFactory,
  });
  t.teardown(() => app.store.close());
  const rate = app.carriers.get('c1')!.rate;
  t.equal(rate.tryTake(100), 10, 'burst');
  const restore = stepWallClockBack(3_600_000);
  t.teardown(restore);
  await new Promise((r) => setTimeout(r, 500));
  const refilled = rate.tryTake(100);
  restore();
  t.ok(refilled >= 3, `${refilled} tokens half a second after the step (10/s)`);
});
