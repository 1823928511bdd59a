/** walkInSteps: one commit unit a step, the next in a later turn; stops when done, draining, or on error. */
import t from 'tap';
import { GroupCommit } from '../../src/store/group-commit.js';
import { walkInSteps } from '../../src/store/step-walk.js';

const inline = { transaction: <T>(fn: () => T): T => fn() };

t.test('steps until there is no more, each in its own commit', async (t) => {
  const commit = new GroupCommit(inline);
  let commits = 0;
  commit.onCommit = () => commits++;
  let left = 5;
  const err = await new Promise<unknown>((resolve) => walkInSteps(commit, { step: () => --left, more: (n) => n > 0, stopping: () => false, done: resolve }));
  t.equal(err, undefined);
  t.equal(left, 0);
  t.equal(commits, 5, 'one commit a step');
});

t.test('a draining daemon stops the walk; a step that throws ends it with the error', async (t) => {
  const commit = new GroupCommit(inline);
  let steps = 0;
  let stopping = false;
  await new Promise<unknown>((resolve) =>
    walkInSteps(commit, {
      step: () => {
        steps++;
        if (steps === 2) stopping = true;
        return true;
      },
      more: (m) => m,
      stopping: () => stopping,
      done: resolve,
    }),
  );
  t.equal(steps, 2, 'no step after the drain began');
  const err = await new Promise<unknown>((resolve) =>
    walkInSteps(commit, {
      step: () => {
        throw new Error('disk full');
      },
      more: () => true,
      stopping: () => false,
      done: resolve,
    }),
  );
  t.match(err, /disk full/);
});
