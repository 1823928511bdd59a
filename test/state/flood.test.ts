/**
 * Issue 14 point 6: under a flood of receipts for unknown ids (dlr_id: auto) and of first
 * parts of two-part replies, memory stays bounded by the inbound caps, every acknowledged PDU
 * is accounted for (held, counted once, or stored), and the warnings are rate-limited.
 */
import t from 'tap';
import Database from 'better-sqlite3';
import { join } from 'node:path';
import v8 from 'node:v8';
import vm from 'node:vm';
import { baseConfigObject, makeConfig, startTestApp, tempDir, type FakeConnector } from '../helpers/fixtures.js';

const RECEIPTS = 100_000;
const PARTS = 100_000;
const CAP = 2_000;
/** The bound asserted on RSS growth over both floods, after a full GC, with caps of 2,000. */
// What the caps bound is what the daemon retains: the JS heap and the buffers outside it
// (measured +2 MB). RSS also holds what the allocator keeps after a GC, which depends on the
// Node line: +9 to +81 MB on Node 20, +280 MB on Node 24 for these floods. Without caps, issue
// 14 measured +206 MB of RSS for 150,000 such receipts and +411 MB for 100,000 such first parts
// on Node 20, and retained memory grew with every PDU.
const RETAINED_BOUND_MB = 32;
const RSS_BOUND_MB = 400;

function moPart(fc: FakeConnector, i: number): Promise<number> {
  // Each reply from its own number, so none completes: 100,000 open replies offered.
  const udh = Buffer.from([5, 0, 3, i & 0xff, 2, 1]);
  return new Promise((resolve) =>
    fc.emit('deliver', {
      carrierId: fc.id, bindIndex: 0, isReceipt: false, esmClass: 0x40, dataCoding: 0,
      sourceAddr: `86139${String(i).padStart(8, '0')}`, destinationAddr: '10690000',
      shortMessage: Buffer.concat([udh, Buffer.from(`part one of reply ${i} `.padEnd(120, 'x'))]), tlvs: {},
      ack: (s = 0) => resolve(s),
    }),
  );
}

/** Send `n` PDUs with at most `window` unanswered, as an SMSC does; returns the statuses seen. */
async function flood(n: number, window: number, one: (i: number) => Promise<number>): Promise<Map<number, number>> {
  const statuses = new Map<number, number>();
  let next = 0;
  const worker = async () => {
    while (next < n) {
      const s = await one(next++);
      statuses.set(s, (statuses.get(s) ?? 0) + 1);
    }
  };
  await Promise.all(Array.from({ length: window }, worker));
  return statuses;
}

// A full collection before each reading, so RSS shows what is retained, not garbage not yet collected.
v8.setFlagsFromString('--expose_gc');
const gc = vm.runInNewContext('gc') as () => void;
const settle = async () => {
  for (let i = 0; i < 3; i++) {
    gc();
    await new Promise((r) => setTimeout(r, 50));
  }
};

const metric = (text: string, re: RegExp) => Number(re.exec(text)?.[1] ?? 0);

t.test('floods of unknown receipts and first parts: RSS bounded, every acknowledged PDU accounted for, warnings rate-limited', async (t) => {
  let clock = Date.now();
  const dir = tempDir(t);
  const obj = baseConfigObject(dir, [{ id: 'c1', host: '127.0.0.1', port: 1, dlr_id: 'auto' }]);
  (obj as Record<string, unknown>).inbound = { held_receipts_max: CAP, partial_replies_max: CAP };
  (obj as { log: Record<string, unknown> }).log = { level: 'warn' };
  const ta = startTestApp(makeConfig(obj), { now: () => clock, level: 'warn' });
  t.teardown(() => ta.close());
  await ta.app.start();
  const fc = ta.connectors.get('c1')!;
  // Warm up (first statements prepared, metrics children made) before the baseline.
  await flood(2000, 50, (i) => fc.receipt(`9${String(i).padStart(9, '0')}`, 'DELIVRD'));
  await settle();
  const before = process.memoryUsage().rss;
  const heapBefore = process.memoryUsage().heapUsed;
  const retained = () => {
    const u = process.memoryUsage();
    return u.heapUsed + u.external;
  };
  const retainedBefore = retained();

  // Decimal ids that are also valid hex: under auto each is held under three id forms.
  const r = await flood(RECEIPTS, 100, (i) => fc.receipt(`1${String(i).padStart(9, '0')}`, 'DELIVRD'));
  const p = await flood(PARTS, 100, (i) => moPart(fc, i));
  await settle();
  const afterFloods = process.memoryUsage().rss;
  const heapAfter = process.memoryUsage().heapUsed;
  const retainedMb = (retained() - retainedBefore) / 1048576;
  const growthMb = (afterFloods - before) / 1048576;
  t.comment(
    `RSS ${Math.round(before / 1048576)} MB before, ${Math.round(afterFloods / 1048576)} MB after ${RECEIPTS} receipts and ${PARTS} first parts ` +
      `(+${growthMb.toFixed(1)} MB; JS heap +${((heapAfter - heapBefore) / 1048576).toFixed(1)} MB)`,
  );
  t.same([...r], [[0, RECEIPTS]], 'every receipt answered ESME_ROK');
  t.same([...p], [[0, PARTS]], 'every part answered ESME_ROK');
  t.ok(retainedMb < RETAINED_BOUND_MB, `JS heap and buffers grew ${retainedMb.toFixed(1)} MB, under ${RETAINED_BOUND_MB} MB`);
  t.ok(growthMb < RSS_BOUND_MB, `RSS grew ${growthMb.toFixed(1)} MB, under ${RSS_BOUND_MB} MB`);

  // Receipts: held (at most the cap) + evicted = all; none counted unmatched yet, none twice.
  let m = (await ta.app.http.inject({ method: 'GET', url: '/metrics' })).body;
  const evicted = metric(m, /xinge_dlr_held_evicted_total\{carrier="c1"\} (\d+)/);
  const warm = 2000;
  t.equal(evicted, RECEIPTS + warm - CAP, 'evictions counted once each');
  t.equal(metric(m, /xinge_dlr_unmatched_total\{carrier="c1"\} (\d+)/), 0, 'an evicted receipt is not also counted unmatched');
  clock += 61000;
  ta.app.runMaintenance();
  await new Promise((r) => setTimeout(r, 300));
  m = (await ta.app.http.inject({ method: 'GET', url: '/metrics' })).body;
  t.equal(metric(m, /xinge_dlr_unmatched_total\{carrier="c1"\} (\d+)/), CAP, 'the held ones counted unmatched once each when their hold ran out (not three times under auto)');

  // Parts: each acknowledged first part is in a stored partial reply or still stored as an open part.
  const partialEvicted = metric(m, /xinge_mo_partial_total\{carrier="c1",reason="evicted"\} (\d+)/);
  t.equal(partialEvicted, PARTS - CAP, 'evicted open replies counted');
  await ta.close();
  const db = new Database(join(dir, 'xinge.db'), { readonly: true });
  t.teardown(() => db.close());
  const stored = (db.prepare('SELECT count(*) AS n FROM mo_messages WHERE partial = 1').get() as { n: number }).n;
  const open = (db.prepare('SELECT count(*) AS n FROM mo_parts').get() as { n: number }).n;
  t.equal(stored + open, PARTS, `every acknowledged part accounted for: ${stored} stored partial + ${open} open`);
  t.equal((db.prepare('SELECT count(*) AS n FROM held_receipts').get() as { n: number }).n, 0, 'no held receipt left behind');

  const warnings = ta.lines.filter((l) => l.includes('"level":40') || l.includes('"level":"warn"'));
  t.ok(warnings.length < 50, `warnings rate-limited: ${warnings.length} lines for ${RECEIPTS + PARTS} faults`);
  t.ok(ta.lines.some((l) => /"suppressed":\d+/.test(l)), 'a line says how many were suppressed');
});
