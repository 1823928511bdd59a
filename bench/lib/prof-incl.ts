/** Inclusive time of named functions in a .cpuprofile: `npx tsx bench/lib/prof-incl.ts FILE name1 name2 …`. */
import { readFileSync } from 'node:fs';

interface Node { id: number; callFrame: { functionName: string; url: string }; children?: number[] }
const prof = JSON.parse(readFileSync(process.argv[2]!, 'utf8')) as { nodes: Node[]; samples: number[] };
const names = process.argv.slice(3);
const byId = new Map(prof.nodes.map((n) => [n.id, n]));
const parent = new Map<number, number>();
for (const n of prof.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const incl = new Map<string, number>();
let busy = 0;
for (const s of prof.samples) {
  const leaf = byId.get(s)!;
  if (leaf.callFrame.functionName === '(idle)') continue;
  busy++;
  const seen = new Set<string>();
  for (let id: number | undefined = s; id !== undefined; id = parent.get(id)) {
    const fn = byId.get(id)!.callFrame.functionName;
    const file = byId.get(id)!.callFrame.url.split('/').pop() ?? '';
    for (const want of names) {
      if ((fn === want || `${file}:${fn}` === want) && !seen.has(want)) {
        seen.add(want);
        incl.set(want, (incl.get(want) ?? 0) + 1);
      }
    }
  }
}
for (const n of names) console.log(`${(((incl.get(n) ?? 0) / busy) * 100).toFixed(1).padStart(5)}%  ${n}`);
