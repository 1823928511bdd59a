/** CoalescingWriter on a real Writable stream: one write per tick, backpressure until 'drain'. */
import t from 'tap';
import { Writable } from 'node:stream';
import { CoalescingWriter } from '../../src/carriers/smpp/writer.js';

function sink(highWaterMark: number) {
  const writes: Buffer[] = [];
  let release: (() => void) | null = null;
  const w = new Writable({
    highWaterMark,
    write(chunk: Buffer, _enc, cb) {
      writes.push(chunk);
      release = cb; // completes only when the test says so (a peer that stopped reading)
    },
  });
  return { w, writes, release: () => release?.() };
}

t.test('PDUs pushed in one tick go out in one write, concatenated in order', async (t) => {
  const s = sink(1 << 20);
  const cw = new CoalescingWriter(s.w, () => undefined);
  for (let i = 0; i < 50; i++) cw.push(Buffer.from([i]));
  t.equal(s.writes.length, 0, 'nothing written synchronously');
  t.equal(cw.queuedBytes, 50);
  await new Promise((r) => setImmediate(r));
  t.equal(s.writes.length, 1);
  t.same([...s.writes[0]!], Array.from({ length: 50 }, (_, i) => i));
  t.equal(cw.writes, 1);
});

t.test('blocked when write() returns false, unblocked (callback) on drain', async (t) => {
  const s = sink(16);
  let drained = 0;
  const cw = new CoalescingWriter(s.w, () => drained++);
  cw.push(Buffer.alloc(64));
  await new Promise((r) => setImmediate(r));
  t.ok(cw.blocked, 'over the high-water mark: blocked');
  t.equal(drained, 0);
  s.release();
  await new Promise((r) => setImmediate(r));
  t.notOk(cw.blocked);
  t.equal(drained, 1);
});

t.test('flush() writes now; close() drops what is queued', async (t) => {
  const s = sink(1 << 20);
  const cw = new CoalescingWriter(s.w, () => undefined);
  cw.push(Buffer.from('a'));
  cw.flush();
  t.equal(s.writes.length, 1);
  cw.push(Buffer.from('b'));
  cw.close();
  cw.push(Buffer.from('c'));
  await new Promise((r) => setImmediate(r));
  t.equal(s.writes.length, 1, 'nothing after close');
});
