/**
 * Per-message metrics without per-call label hashing. prom-client hashes the label set on
 * every inc/observe/set, children included (a child's inc calls its parent with the label
 * object); on the hot paths that was ~5 % of the daemon's main thread. Here the per-message
 * work is a Map walk and a number add; prom-client sees the totals when it collects, that is
 * on a scrape, through its public API (counters, gauges) or the registry's metric shape
 * (FastHistogram).
 */
import type client from 'prom-client';

/** A lookup of one object per label tuple, one Map level per label (label values are mostly interned strings whose hash V8 keeps). */
function tupleCache<T>(make: (labels: string[]) => T): { get: (labels: string[]) => T; each: (fn: (labels: string[], v: T) => void) => void } {
  const root = new Map<string, unknown>();
  const all: Array<[string[], T]> = [];
  return {
    get(labels) {
      let level = root;
      const last = labels.length - 1;
      for (let i = 0; i < last; i++) {
        let next = level.get(labels[i]!) as Map<string, unknown> | undefined;
        if (next === undefined) {
          next = new Map();
          level.set(labels[i]!, next);
        }
        level = next;
      }
      const key = labels[last] ?? '';
      let v = level.get(key) as T | undefined;
      if (v === undefined) {
        v = make(labels);
        level.set(key, v);
        all.push([[...labels], v]);
      }
      return v;
    },
    each(fn) {
      for (const [l, v] of all) fn(l, v);
    },
  };
}

const labelObject = (names: readonly string[], values: readonly string[]): Record<string, string> => {
  const o: Record<string, string> = {};
  names.forEach((n, i) => (o[n] = values[i]!));
  return o;
};

/** Adds `fn` to what the metric runs before it reports (keeps any collect already set). */
function beforeCollect(metric: { collect?: () => unknown }, fn: () => void): void {
  const prev = metric.collect;
  metric.collect = prev === undefined ? fn : () => {
    fn();
    return prev.call(metric);
  };
}

export interface CounterChild {
  inc(n?: number): void;
}

/**
 * Children of a prom-client Counter by label values (in `labelNames` order): increments add
 * to a local number, and the counter gets the difference when it is collected.
 */
export function counterChildren(counter: client.Counter<string>, labelNames: readonly string[]): (...labels: string[]) => CounterChild {
  const cache = tupleCache<{ pending: number; inc(n?: number): void }>(() => ({
    pending: 0,
    inc(n = 1) {
      this.pending += n;
    },
  }));
  beforeCollect(counter as unknown as { collect?: () => unknown }, () => {
    cache.each((labels, c) => {
      if (c.pending === 0) return;
      counter.inc(labelObject(labelNames, labels), c.pending);
      c.pending = 0;
    });
  });
  return (...labels) => cache.get(labels);
}

export interface GaugeChild {
  set(v: number): void;
}

/** Children of a prom-client Gauge: the last value set is what the gauge reports when collected. */
export function gaugeChildren(gauge: client.Gauge<string>, labelNames: readonly string[]): (...labels: string[]) => GaugeChild {
  const cache = tupleCache<{ value: number | undefined; set(v: number): void }>(() => ({
    value: undefined,
    set(v) {
      this.value = v;
    },
  }));
  beforeCollect(gauge as unknown as { collect?: () => unknown }, () => {
    cache.each((labels, c) => {
      if (c.value === undefined) return;
      gauge.set(labelObject(labelNames, labels), c.value);
      c.value = undefined;
    });
  });
  return (...labels) => cache.get(labels);
}

export interface HistogramChild {
  observe(v: number): void;
}

class HistogramCell implements HistogramChild {
  readonly counts: Float64Array;
  sum = 0;
  count = 0;
  constructor(readonly bounds: readonly number[]) {
    this.counts = new Float64Array(bounds.length);
  }
  observe(v: number): void {
    if (!Number.isFinite(v)) return;
    this.sum += v;
    this.count++;
    const b = this.bounds;
    for (let i = 0; i < b.length; i++) {
      if (v <= b[i]!) {
        this.counts[i]!++;
        return;
      }
    }
  }
}

interface ExportValue {
  labels: Record<string, string | number>;
  sharedLabels: Record<string, string>;
  value: number;
  metricName: string;
}

/**
 * A histogram the registry reports like prom-client's (same series, same label order), whose
 * children are cached cells: `labels(...)` is a Map walk, `observe` a bucket scan and adds.
 */
export class FastHistogram {
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  readonly #bounds: number[];
  #cells;

  constructor(readonly name: string, readonly help: string, readonly labelNames: readonly string[], buckets: readonly number[], registry: client.Registry) {
    this.#bounds = [...buckets].sort((a, b) => a - b);
    this.#cells = tupleCache(() => new HistogramCell(this.#bounds));
    // Like prom-client: a histogram without labels reports its zeros before any observation.
    if (labelNames.length === 0) this.#cells.get([]);
    registry.registerMetric(this as unknown as client.Metric);
  }

  /** A child by label values, positional (labelNames order) or as an object. */
  labels(...args: Array<string | Record<string, string>>): HistogramChild {
    const first = args[0];
    if (first !== undefined && typeof first === 'object') return this.#cells.get(this.labelNames.map((n) => first[n] ?? ''));
    return this.#cells.get(args as string[]);
  }

  observe(v: number): void {
    this.#cells.get([]).observe(v);
  }

  reset(): void {
    this.#cells = tupleCache(() => new HistogramCell(this.#bounds));
    if (this.labelNames.length === 0) this.#cells.get([]);
  }

  /** As prom-client's: the child labels as sharedLabels, `le` as the series' own. */
  getForPromString(): { name: string; help: string; type: string; values: ExportValue[]; aggregator: string } {
    const values: ExportValue[] = [];
    const bucket = `${this.name}_bucket`;
    this.#cells.each((labels, cell) => {
      const shared = labelObject(this.labelNames, labels);
      let acc = 0;
      this.#bounds.forEach((le, i) => {
        acc += cell.counts[i]!;
        values.push({ labels: { le }, sharedLabels: shared, value: acc, metricName: bucket });
      });
      values.push({ labels: { le: '+Inf' }, sharedLabels: shared, value: cell.count, metricName: bucket });
      values.push({ labels: {}, sharedLabels: shared, value: cell.sum, metricName: `${this.name}_sum` });
      values.push({ labels: {}, sharedLabels: shared, value: cell.count, metricName: `${this.name}_count` });
    });
    return { name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator };
  }

  /** The JSON shape (registry.getMetricsAsJSON): labels merged. */
  get(): { name: string; help: string; type: string; values: Array<{ labels: Record<string, string | number>; value: number; metricName: string }>; aggregator: string } {
    const r = this.getForPromString();
    return { ...r, values: r.values.map((v) => ({ labels: { ...v.sharedLabels, ...v.labels }, value: v.value, metricName: v.metricName })) };
  }
}
