/**
 * Issue 21 (PostgreSQL): with commitAsync the group commit's COMMIT is not waited for. Its
 * units are answered when it is; one tick is out at a time and the units queued meanwhile
 * go in the next; a tick takes at most maxUnits; a failed COMMIT refuses its units only.
 */
import t from 'tap';
import { GroupCommit } from '../../src/store/group-commit.js';

function asyncCommitter() {
  const ticks: Array<{ size: number; finish: (err?: Error) => void }> = [];
  let syncCommits = 0;
  let current: string[] | undefined;
  const log: string[][] = [];
  const commitAsync = <T>(fn: () => T): Promise<T> => {
    current = [];
    const r = fn();
    const units = current;
    current = undefined;
    log.push(units);
    return new Promise<T>((resolve, reject) => ticks.push({ size: units.length, finish: (err) => (err === undefined ? resolve(r) : reject(err)) }));
  };
  const tx = {
    transaction: <T>(fn: () => T): T => {
      syncCommits++;
      current = [];
      const r = fn();
      log.push(current);
      current = undefined;
      return r;
    },
  };
  const unit = (name: string) => () => {
    current?.push(name);
    return name;
  };
  return { ticks, log, commitAsync, tx, unit, syncCommits: () => syncCommits };
}

const turn = () => new Promise((r) => setImmediate(r));

t.test('answered when the COMMIT is; one tick out at a time; the next takes what queued meanwhile', async (t) => {
  const c = asyncCommitter();
  const gc = new GroupCommit(c.tx, { commitAsync: c.commitAsync });
  const answered: string[] = [];
  const committedHooks: string[] = [];
  const a = gc.run(c.unit('a'), false, () => committedHooks.push('a')).then((v) => answered.push(v));
  await turn();
  t.equal(c.ticks.length, 1, 'the first tick is out');
  t.same(answered, [], 'not answered before its COMMIT is');
  t.same(committedHooks, [], 'nor acted on');
  const b = gc.run(c.unit('b')).then((v) => answered.push(v));
  const d = gc.run(c.unit('d')).then((v) => answered.push(v));
  await turn();
  t.equal(c.ticks.length, 1, 'no second tick while the first is out');
  c.ticks[0]!.finish();
  await a;
  t.same(committedHooks, ['a']);
  await turn();
  t.equal(c.ticks.length, 2, 'the next tick started once the first was answered');
  t.same(c.log[1], ['b', 'd'], 'with everything queued meanwhile, in order');
  c.ticks[1]!.finish();
  await Promise.all([b, d]);
  t.same(answered, ['a', 'b', 'd']);
  t.equal(c.syncCommits(), 0, 'nothing waited for');
});

t.test('maxUnits caps a tick; a failed COMMIT refuses its units and the queue goes on', async (t) => {
  const c = asyncCommitter();
  const gc = new GroupCommit(c.tx, { commitAsync: c.commitAsync, maxUnits: 2 });
  const outcomes: string[] = [];
  const all = ['u1', 'u2', 'u3'].map((n) => gc.run(c.unit(n)).then((v) => outcomes.push(`ok ${v}`), (e: Error) => outcomes.push(`refused ${n}: ${e.message}`)));
  await turn();
  t.same(c.log[0], ['u1', 'u2'], 'two units in the first tick');
  c.ticks[0]!.finish(new Error('connection lost'));
  await turn();
  await turn();
  t.same(c.log[1], ['u3'], 'the third in the next');
  c.ticks[1]!.finish();
  await Promise.all(all);
  t.same(outcomes, ['refused u1: connection lost', 'refused u2: connection lost', 'ok u3']);
});

t.test('a unit that throws is refused alone; close() commits what is queued at once, even with a tick out', async (t) => {
  const c = asyncCommitter();
  const gc = new GroupCommit(c.tx, { commitAsync: c.commitAsync });
  const bad = gc.run(() => {
    throw new Error('invalid');
  });
  const good = gc.run(c.unit('good'));
  await turn();
  c.ticks[0]!.finish();
  await t.rejects(bad, /invalid/);
  t.equal(await good, 'good');
  const out = gc.run(c.unit('out'));
  await turn();
  const late = gc.run(c.unit('late'));
  gc.close();
  t.equal(c.syncCommits(), 1, 'close committed the queue itself');
  t.equal(await late, 'late');
  c.ticks[1]!.finish();
  t.equal(await out, 'out');
  await t.rejects(gc.run(c.unit('after')), /store closed/);
});
