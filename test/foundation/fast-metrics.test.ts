/** fast-metrics: per-message children without label hashing, reported as prom-client would. */
import t from 'tap';
import client, { Registry, Counter, Gauge, Histogram } from 'prom-client';
import { counterChildren, FastHistogram, gaugeChildren } from '../../src/observability/fast-metrics.js';
import { createMetrics } from '../../src/observability/metrics.js';

t.test('counter children: the same labels give the same child; totals reach the counter on collect', async (t) => {
  const registry = new Registry();
  const counter = new Counter({ name: 'x_total', help: 'x', labelNames: ['carrier', 'status'], registers: [registry] });
  const child = counterChildren(counter, ['carrier', 'status']);
  t.equal(child('c1', 'ESME_ROK'), child('c1', 'ESME_ROK'), 'cached');
  t.not(child('c1', 'ESME_ROK'), child('c2', 'ESME_ROK'));
  // A joined key would make these one entry.
  t.not(child('a\u0000b', 'c'), child('a', 'b\u0000c'), 'labels containing a separator stay apart');
  child('c1', 'ESME_ROK').inc();
  child('c1', 'ESME_ROK').inc();
  child('c1', 'ESME_RTHROTTLED').inc(3);
  counter.inc({ carrier: 'c1', status: 'ESME_ROK' }, 10);
  let text = await registry.metrics();
  t.match(text, /x_total\{carrier="c1",status="ESME_ROK"\} 12/);
  t.match(text, /x_total\{carrier="c1",status="ESME_RTHROTTLED"\} 3/);
  // A second scrape adds only what came since the first.
  child('c1', 'ESME_ROK').inc();
  text = await registry.metrics();
  t.match(text, /x_total\{carrier="c1",status="ESME_ROK"\} 13/);
  t.match(text, /x_total\{carrier="c1",status="ESME_RTHROTTLED"\} 3/);
  const json = await counter.get();
  t.equal(json.values.find((v) => v.labels.status === 'ESME_ROK')?.value, 13, 'get() collects too');
});

t.test('a collect already set on the metric still runs', async (t) => {
  const registry = new Registry();
  let ran = 0;
  const counter = new Counter({ name: 'y_total', help: 'y', labelNames: ['k'], registers: [registry], collect() { ran++; } });
  counterChildren(counter, ['k'])('a').inc();
  t.match(await registry.metrics(), /y_total\{k="a"\} 1/);
  t.equal(ran, 1);
});

t.test('gauge children: the last value set is reported; a later direct set stands until the child changes', async (t) => {
  const registry = new Registry();
  const gauge = new Gauge({ name: 'g', help: 'g', labelNames: ['carrier'], registers: [registry] });
  const child = gaugeChildren(gauge, ['carrier']);
  child('c1').set(5);
  child('c1').set(7);
  t.match(await registry.metrics(), /g\{carrier="c1"\} 7/);
  gauge.set({ carrier: 'c1' }, 3);
  t.match(await registry.metrics(), /g\{carrier="c1"\} 3/, 'no stale child value overrides it');
  child('c1').set(0);
  t.match(await registry.metrics(), /g\{carrier="c1"\} 0/);
});

t.test('FastHistogram exposes exactly what a prom-client Histogram does for the same observations', async (t) => {
  const buckets = [0.001, 0.01, 0.1, 1];
  const observations = [0, 0.0005, 0.001, 0.002, 0.05, 0.5, 2, 30, 0.1];
  const a = new Registry();
  const b = new Registry();
  const fast = new FastHistogram('h_seconds', 'h', ['carrier'], buckets, a);
  const ref = new Histogram({ name: 'h_seconds', help: 'h', labelNames: ['carrier'], buckets, registers: [b] });
  for (const [i, v] of observations.entries()) {
    const carrier = i % 2 === 0 ? 'c1' : 'c2';
    fast.labels(carrier).observe(v);
    ref.labels({ carrier }).observe(v);
  }
  fast.labels({ carrier: 'c3' }).observe(0.01);
  ref.labels({ carrier: 'c3' }).observe(0.01);
  t.equal(await a.metrics(), await b.metrics());
  const series = async (r: Registry) =>
    (await r.getMetricsAsJSON()).flatMap((m) => m.values.map((v) => ({ name: (v as { metricName?: string }).metricName, labels: { ...v.labels }, value: v.value })));
  t.same(await series(a), await series(b), 'the JSON series too');
  fast.labels('c1').observe(NaN);
  t.equal(await a.metrics(), await b.metrics(), 'a non-finite value is not counted');
  a.resetMetrics();
  b.resetMetrics();
  t.equal(await a.metrics(), await b.metrics(), 'reset');
});

t.test('FastHistogram without labels reports zeros before any observation, as prom-client does', async (t) => {
  const a = new Registry();
  const b = new Registry();
  const fast = new FastHistogram('n', 'n', [], [1, 5], a);
  new Histogram({ name: 'n', help: 'n', buckets: [1, 5], registers: [b] });
  t.equal(await a.metrics(), await b.metrics());
  fast.observe(3);
  t.match(await a.metrics(), /n_bucket\{le="1"\} 0\nn_bucket\{le="5"\} 1\nn_bucket\{le="\+Inf"\} 1\nn_sum 3\nn_count 1/);
  fast.reset();
  t.equal(await a.metrics(), await b.metrics(), 'reset keeps the zero series');
});

t.test('the daemon metrics: hot children and histograms are in the exposition', async (t) => {
  const m = createMetrics('t_');
  m.hot.submitted('c1', 'otp').inc();
  m.hot.final('c1', 'otp', 'delivered').inc(2);
  m.hot.dlr('c1', 'DELIVRD').inc();
  m.hot.submitResp('c1', 'ESME_ROK').inc();
  m.hot.windowInFlight('c1').set(4);
  m.acceptToSubmit.labels('otp').observe(0.004);
  const text = await m.registry.metrics();
  t.match(text, /t_submitted_total\{carrier="c1",category="otp"\} 1/);
  t.match(text, /t_messages_final_total\{carrier="c1",category="otp",status="delivered"\} 2/);
  t.match(text, /t_dlr_total\{carrier="c1",stat="DELIVRD"\} 1/);
  t.match(text, /t_submit_sm_resp_total\{carrier="c1",status="ESME_ROK"\} 1/);
  t.match(text, /t_window_in_flight\{carrier="c1"\} 4/);
  t.match(text, /t_accept_to_submit_seconds_bucket\{le="0.005",lane="otp"\} 1/);
  t.match(text, /# TYPE t_accept_to_submit_seconds histogram/);
  void client;
});
