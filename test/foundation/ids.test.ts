/** Message ids: time-ordered, unique, 60 random bits drawn from a pooled block. */
import t from 'tap';
import { idUpperBound, newId } from '../../src/domain/ids.js';

t.test('ids across several random blocks: unique, well formed, sorted by time', async (t) => {
  const seen = new Set<string>();
  const base = Date.UTC(2026, 10, 29);
  let prev = '';
  let sorted = true;
  // 10,000 ids (more than two 4,096-id blocks), ten per millisecond.
  for (let i = 0; i < 10000; i++) {
    const id = newId('msg', base + Math.floor(i / 10));
    seen.add(id);
    if (!/^msg_[0-9a-z]{11}[A-Za-z0-9_-]{10}$/.test(id)) t.fail(`malformed ${id}`);
    if (id.slice(0, 15) < prev.slice(0, 15)) sorted = false;
    prev = id;
  }
  t.equal(seen.size, 10000, 'no two alike');
  t.ok(sorted, 'time and sequence order the ids');
  const tail = [...seen].map((id) => id.slice(-10));
  t.equal(new Set(tail).size, 10000, 'the random parts differ too');
  t.ok(newId('msg', base) < idUpperBound(base + 1), 'below the bound of a later time');
  t.ok(newId('msg', base + 5) > idUpperBound(base + 5), 'above the bound of its own time');
});
