/**
 * Inclusive time in a .cpuprofile (busy samples only):
 * `npx tsx bench/lib/prof-incl.ts FILE name1 name2 …` for named functions (`fn` or `file.js:fn`),
 * `npx tsx bench/lib/prof-incl.ts FILE [N]` for the top N frames.
 */
import { readFileSync } from 'node:fs';

interface Node { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; children?: number[] }
const prof = JSON.parse(readFileSync(process.argv[2]!, 'utf8')) as { nodes: Node[]; samples: number[] };
const args = process.argv.slice(3);
const top = args.length === 0 || (args.length === 1 && /^\d+$/.test(args[0]!)) ? Number(args[0] ?? 60) : undefined;
const byId = new Map(prof.nodes.map((n) => [n.id, n]));
const parent = new Map<number, number>();
for (const n of prof.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
// A frame is counted once per sample, however deep it recurses.
const keysOf = (n: Node): string[] => {
  const fn = n.callFrame.functionName;
  if (top !== undefined) return [`${fn || '(anon)'} ${n.callFrame.url.replace(/^.*\/(node_modules\/)?/, '')}:${n.callFrame.lineNumber}`];
  const file = n.callFrame.url.split('/').pop() ?? '';
  return args.filter((want) => fn === want || `${file}:${fn}` === want);
};
const incl = new Map<string, number>();
let busy = 0;
for (const s of prof.samples) {
  if (byId.get(s)!.callFrame.functionName === '(idle)') continue;
  busy++;
  const seen = new Set<string>();
  for (let id: number | undefined = s; id !== undefined; id = parent.get(id)) {
    for (const k of keysOf(byId.get(id)!)) {
      if (seen.has(k)) continue;
      seen.add(k);
      incl.set(k, (incl.get(k) ?? 0) + 1);
    }
  }
}
const rows = top !== undefined ? [...incl.entries()].sort((a, b) => b[1] - a[1]).slice(0, top) : args.map((n) => [n, incl.get(n) ?? 0] as const);
for (const [k, v] of rows) console.log(`${((v / busy) * 100).toFixed(1).padStart(5)}%  ${k}`);
