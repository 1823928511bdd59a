/** The lines a child process prints, one promise per line in order; `exit …` once it has gone. */
import type { ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';

export function childLines(child: ChildProcess): () => Promise<string> {
  const queue: string[] = [];
  const waiting: Array<(l: string) => void> = [];
  const rl = createInterface({ input: child.stdout! });
  rl.on('line', (l) => (waiting.length > 0 ? waiting.shift()!(l) : queue.push(l)));
  child.once('exit', (code, signal) => {
    for (const w of waiting.splice(0)) w(`exit ${code ?? signal}`);
  });
  return () => (queue.length > 0 ? Promise.resolve(queue.shift()!) : new Promise((r) => waiting.push(r)));
}
