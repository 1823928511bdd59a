/** The drain reports the step it is in, so a daemon whose drain overruns can say where it hung. */
import t from 'tap';
import { baseConfigObject, makeConfig, startTestApp, tempDir } from '../helpers/fixtures.js';

t.test('drainStep: none before the drain, each step in order during it, done after', async (t) => {
  const ta = startTestApp(makeConfig(baseConfigObject(tempDir(t))));
  await ta.app.start();
  t.equal(ta.app.drainStep(), undefined, 'no drain yet');
  const seen: string[] = [];
  const watch = setInterval(() => {
    const s = ta.app.drainStep();
    if (s !== undefined && seen.at(-1) !== s) seen.push(s);
  }, 0);
  const connector = ta.connectors.get('c1')!;
  const stop = connector.stop.bind(connector);
  // The carrier's unbind takes a while: the step is visible meanwhile.
  connector.stop = async () => {
    await new Promise((r) => setTimeout(r, 50));
    return stop();
  };
  await ta.app.drain();
  clearInterval(watch);
  t.equal(ta.app.drainStep(), 'done');
  t.ok(seen.includes('carrier unbinds'), `steps seen: ${seen.join(', ')}`);
  const order = ['in-flight submits', 'carrier unbinds', 'webhook outbox', 'HTTP close', 'store close', 'done'];
  const idx = seen.map((s) => order.indexOf(s));
  t.ok(idx.every((v, i) => v >= 0 && (i === 0 || v > idx[i - 1]!)), 'known steps, in order');
});
