/**
 * Config under randomized edits (fast-check): config/example.yaml with values at random paths
 * replaced by values of the wrong shape (null, numbers, strings, lists, mappings, `${UNSET}`),
 * keys deleted, unknown keys added. `check-config` must answer every such file with either a
 * config or the list of its errors, each naming its YAML path, never with another exception
 * (the cross-checks read the document before the schema has vouched for its shapes).
 */
import t from 'tap';
import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { ConfigError, parseConfig } from '../../src/config/load.js';
import { REPO } from './fixtures/daemon.js';

const text = readFileSync(join(REPO, 'config/example.yaml'), 'utf8');
const vars = [...new Set([...text.matchAll(/\$\{([A-Z0-9_]+)\}/g)].map((m) => m[1]!))];
const env: Record<string, string> = Object.fromEntries(vars.map((v) => [v, `${v.toLowerCase()}-value`]));
env.XINGE_SMSC_PASSWORD = 'pw123456';
env.XINGE_OTP_BODY_KEY = Buffer.alloc(32, 5).toString('base64');
const base = parse(text) as unknown;
/** `(root): …`, `(yaml): …`, or a path: keys, `[n]`, `["odd key"]`, then `: `. */
const PATHED = /^(\(root\)|\(yaml\)|([A-Za-z_$][\w$-]*|\[\d+\]|\["(?:[^"\\]|\\.)*"\])(\.[A-Za-z_$][\w$-]*|\[\d+\]|\["(?:[^"\\]|\\.)*"\])*): /;

/** Every path to a value in the document (mappings and lists walked). */
function paths(v: unknown, prefix: Array<string | number> = []): Array<Array<string | number>> {
  const out: Array<Array<string | number>> = [prefix];
  if (Array.isArray(v)) v.forEach((x, i) => out.push(...paths(x, [...prefix, i])));
  else if (v !== null && typeof v === 'object') for (const [k, x] of Object.entries(v)) out.push(...paths(x, [...prefix, k]));
  return out;
}
const ALL = paths(base).filter((p) => p.length > 0);

const odd: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom(null, 0, -1, 1.5, 1e21, '', ' ', 'x', '${XINGE_NOT_SET}', '{', true, [], {}, [null], { a: 1 }, ['x', 2], '09:00-21:00', '25:00', 'http://', '13800138000', 'gb18030'),
  fc.string({ maxLength: 10 }),
  fc.integer(),
  fc.array(fc.oneof(fc.string({ maxLength: 4 }), fc.integer(), fc.constant(null)), { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 6 }), fc.oneof(fc.string({ maxLength: 4 }), fc.integer(), fc.constant(null)), { maxKeys: 3 }),
);

const edit = fc.oneof(
  fc.record({ op: fc.constant('set' as const), at: fc.nat(), value: odd }),
  fc.record({ op: fc.constant('delete' as const), at: fc.nat() }),
  fc.record({ op: fc.constant('add' as const), at: fc.nat(), key: fc.string({ minLength: 1, maxLength: 8 }), value: odd }),
);

function apply(doc: unknown, edits: Array<typeof edit extends fc.Arbitrary<infer E> ? E : never>): unknown {
  const root = structuredClone(doc) as Record<string, unknown>;
  for (const e of edits) {
    const path = ALL[e.at % ALL.length]!;
    let parent: any = root;
    for (const k of path.slice(0, -1)) {
      if (parent === null || typeof parent !== 'object') break;
      parent = parent[k];
    }
    if (parent === null || typeof parent !== 'object') continue;
    const last = path[path.length - 1]!;
    if (e.op === 'set') parent[last] = structuredClone(e.value);
    else if (e.op === 'delete') {
      if (Array.isArray(parent) && typeof last === 'number') parent.splice(last, 1);
      else delete parent[last];
    } else if (!Array.isArray(parent)) parent[e.key] = structuredClone(e.value);
  }
  return root;
}

t.test('config/example.yaml with random edits: a config or errors that name their path, never a crash', async (t) => {
  let refused = 0;
  let accepted = 0;
  fc.assert(
    fc.property(fc.array(edit, { minLength: 1, maxLength: 4 }), (edits) => {
      const yaml = stringify(apply(base, edits));
      try {
        parseConfig(yaml, env);
        accepted++;
      } catch (err) {
        if (!(err instanceof ConfigError)) throw new Error(`${(err as Error).stack}\n--- edits: ${JSON.stringify(edits)}`);
        for (const e of err.errors) if (!PATHED.test(e)) throw new Error(`an error without its path: ${e}`);
        refused++;
      }
    }),
    { numRuns: Number(process.env.XINGE_FUZZ_RUNS ?? 400) },
  );
  t.ok(refused > 0 && accepted > 0, `${refused} edited configs refused with paths, ${accepted} accepted`);
});
