/** childCache: one labelled child per label set, made once, on the per-message metric paths. */
import t from 'tap';
import { Registry, Counter } from 'prom-client';
import { childCache } from '../../src/observability/metrics.js';

t.test('the same labels give the same child, made once; different ones never collide', async (t) => {
  let made = 0;
  const get = childCache((a, b) => ({ a, b, n: made++ }));
  const x = get('c1', 'otp');
  t.equal(get('c1', 'otp'), x, 'cached');
  t.equal(made, 1);
  t.not(get('c1', 'marketing'), x);
  t.not(get('c2', 'otp'), x);
  // A joined key would make these one entry.
  const p = get('a\u0000b', 'c');
  const q = get('a', 'b\u0000c');
  t.not(p, q, 'labels containing the separator stay apart');
  t.same([p.a, p.b, q.a, q.b], ['a\u0000b', 'c', 'a', 'b\u0000c']);
  t.equal(made, 5);
  const none = childCache(() => ({ n: made++ }));
  t.equal(none(), none(), 'no labels: one child');
});

t.test('children count into the labelled series', async (t) => {
  const registry = new Registry();
  const counter = new Counter({ name: 'x_total', help: 'x', labelNames: ['carrier', 'status'], registers: [registry] });
  const child = childCache((carrier, status) => counter.labels({ carrier: carrier!, status: status! }));
  child('c1', 'ESME_ROK').inc();
  child('c1', 'ESME_ROK').inc();
  child('c1', 'ESME_RTHROTTLED').inc();
  const text = await registry.metrics();
  t.match(text, /x_total\{carrier="c1",status="ESME_ROK"\} 2/);
  t.match(text, /x_total\{carrier="c1",status="ESME_RTHROTTLED"\} 1/);
});
