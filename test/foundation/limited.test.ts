/** Literal-LIMIT statements: the same rows as LIMIT ?, whatever the limit; few statements prepared. */
import t from 'tap';
import Database from 'better-sqlite3';
import { limitedStatement } from '../../src/store/sqlite/limited.js';

t.test('limitedStatement returns what LIMIT ? returns; SELECTs share rounded statements', async (t) => {
  const db = new Database(':memory:');
  t.teardown(() => db.close());
  db.exec('CREATE TABLE x (v INTEGER)');
  const ins = db.prepare('INSERT INTO x VALUES (?)');
  for (let i = 0; i < 300; i++) ins.run(i);
  const bound = db.prepare('SELECT v FROM x ORDER BY v LIMIT ?').pluck();
  const prepared: string[] = [];
  const spy = new Proxy(db, {
    get(target, prop) {
      if (prop === 'prepare') return (sql: string) => (prepared.push(sql), target.prepare(sql));
      return Reflect.get(target, prop) as unknown;
    },
  });
  const sel = limitedStatement(spy, 'SELECT v FROM x ORDER BY v LIMIT {limit}');
  for (const n of [1, 2, 3, 5, 17, 20, 30, 100, 128, 129, 250, 300, 400]) {
    const rows = (sel(n).pluck().all() as number[]).slice(0, n);
    t.same(rows, bound.all(n), `limit ${n}`);
  }
  t.equal(prepared.length, 11, '13 limits, 11 statements: 17, 20 and 30 share LIMIT 32');
  t.ok(prepared.every((s) => Number(/LIMIT (\d+)$/.exec(s)![1]) % 16 === 0 || Number(/LIMIT (\d+)$/.exec(s)![1]) <= 16));
  t.ok(prepared.every((s) => /LIMIT \d+$/.test(s)), 'the limit is a literal');

  const upd = limitedStatement(db, 'UPDATE x SET v = -v WHERE rowid IN (SELECT rowid FROM x WHERE v > 0 ORDER BY v LIMIT {limit})', true);
  t.equal(upd(3).run().changes, 3, 'exact: an UPDATE touches exactly the limit');
  t.equal(upd(5).run().changes, 5);
  for (let i = 1; i < 80; i++) upd(i); // more distinct limits than the exact cache keeps
  t.equal(upd(2).run().changes, 2, 'still exact after the cache was cleared');
  t.throws(() => limitedStatement(db, 'SELECT v FROM x LIMIT ?'), /no \{limit\}/);

  const raw = limitedStatement(db, "SELECT rowid, 'r' || rowid FROM x ORDER BY rowid LIMIT {limit}", false, true);
  t.same(raw(2).all(), [[1, 'r1'], [2, 'r2']], 'raw: rows as arrays, every statement of the cache');
  t.same(raw(40).all()[39], [40, 'r40']);
});
