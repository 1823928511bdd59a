/**
 * Issue 2, point 8: the Dockerfile, linted by reading it (no Docker engine here): multi-stage
 * on a maintained node slim LTS, npm ci → build → prune, non-root USER, HEALTHCHECK on
 * /healthz, EXPOSE 8080, CMD on dist/cli.js. Then what can be run without Docker is run:
 * the build output (tsc -p tsconfig.build.json) started as the CMD starts it, the
 * HEALTHCHECK command against it, and the RUN line that writes /etc/xinge/config.yaml.
 */
import t from 'tap';
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { parseConfig } from '../../src/config/load.js';
import { tempDir } from '../helpers/fixtures.js';
import { REPO, daemonConfig, freePort, startDaemon, waitReady, writeYaml } from './fixtures/daemon.js';

interface Instr {
  op: string;
  args: string;
  stage: number;
}

function parseDockerfile(text: string): Instr[] {
  const out: Instr[] = [];
  let stage = -1;
  const logical = text
    .replace(/\\\r?\n/g, ' ')
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
  for (const l of logical) {
    const m = /^(\w+)\s+(.*)$/.exec(l);
    if (m === null) continue;
    const op = m[1]!.toUpperCase();
    if (op === 'FROM') stage++;
    out.push({ op, args: m[2]!.replace(/\s+/g, ' '), stage });
  }
  return out;
}

const text = readFileSync(join(REPO, 'Dockerfile'), 'utf8');
const instrs = parseDockerfile(text);
const finalStage = Math.max(...instrs.map((i) => i.stage));
const inFinal = instrs.filter((i) => i.stage === finalStage);

t.test('lint: stages, base, build steps, user, healthcheck, port, command', async (t) => {
  const froms = instrs.filter((i) => i.op === 'FROM');
  t.ok(froms.length >= 2, 'multi-stage');
  for (const f of froms) t.match(f.args, /^node:(22|24)(\.\d+)*-(bookworm-)?slim( AS \w+)?$/i, `maintained LTS slim base: ${f.args}`);
  const buildName = /AS (\w+)/i.exec(froms[0]!.args)?.[1];
  t.ok(buildName, 'the build stage is named');
  const runs = instrs.filter((i) => i.op === 'RUN' && i.stage < finalStage).map((i) => i.args).join(' && ');
  const ci = runs.indexOf('npm ci');
  const build = runs.indexOf('npm run build');
  const prune = runs.search(/npm prune --(omit=dev|production)/);
  t.ok(ci >= 0 && build > ci && prune > build, 'npm ci, then npm run build, then prune dev dependencies');
  t.notOk(inFinal.some((i) => i.op === 'RUN' && /npm (ci|install)/.test(i.args)), 'no install in the runtime stage');
  t.ok(inFinal.some((i) => i.op === 'COPY' && new RegExp(`--from=${buildName} \\S*node_modules`).test(i.args)), 'runtime takes the pruned node_modules');
  t.ok(inFinal.some((i) => i.op === 'COPY' && new RegExp(`--from=${buildName} \\S*dist`).test(i.args)), 'runtime takes dist/');
  t.ok(inFinal.some((i) => i.op === 'COPY' && /^config /.test(i.args)), 'runtime has config/ (the embedded default)');

  const users = inFinal.filter((i) => i.op === 'USER');
  t.ok(users.length >= 1, 'USER set in the final stage');
  const user = users[users.length - 1]!.args.split(':')[0]!;
  t.notMatch(user, /^(root|0)$/, `runs as ${user}, not root`);
  const cmdIdx = inFinal.findIndex((i) => i.op === 'CMD');
  t.ok(inFinal.indexOf(users[users.length - 1]!) < cmdIdx, 'USER before CMD');

  const hc = inFinal.find((i) => i.op === 'HEALTHCHECK');
  t.ok(hc, 'HEALTHCHECK present');
  t.match(hc!.args, /CMD \[?"?node"?,? "?-e"?/, 'HEALTHCHECK runs node -e');
  t.match(hc!.args, /fetch\(/, 'with fetch');
  const healthUrl = /XINGE_HEALTHCHECK_URL=(\S+)/.exec(inFinal.filter((i) => i.op === 'ENV').map((i) => i.args).join(' '))?.[1];
  t.equal(healthUrl, 'http://127.0.0.1:8080/healthz', 'on /healthz');
  t.ok(inFinal.some((i) => i.op === 'EXPOSE' && /\b8080\b/.test(i.args)), 'EXPOSE 8080');
  const cmd = inFinal[cmdIdx]!.args;
  t.same(JSON.parse(cmd), ['node', 'dist/cli.js', '--config', '/etc/xinge/config.yaml'], 'exec-form CMD: signals reach node');

  const ignore = readFileSync(join(REPO, '.dockerignore'), 'utf8').split('\n').map((l) => l.trim());
  for (const p of ['node_modules', '.git', 'dist', 'var', '*.db']) t.ok(ignore.includes(p), `.dockerignore has ${p}`);
  const copiedSrc = instrs.filter((i) => i.op === 'COPY' && !i.args.startsWith('--from')).map((i) => i.args.split(' ')[0]);
  for (const c of copiedSrc) t.notOk(ignore.includes(c!), `${c} is copied, so not ignored`);
});

t.test('the RUN line writing /etc/xinge/config.yaml yields a valid config on 0.0.0.0', async (t) => {
  const dir = tempDir(t);
  const run = inFinal.find((i) => i.op === 'RUN' && i.args.includes('/etc/xinge/config.yaml'));
  t.ok(run, 'a RUN writes /etc/xinge/config.yaml');
  const script = /node -e "([^"]+)"/.exec(run!.args)?.[1];
  t.ok(script, 'as node -e "…"');
  const local = script!.replaceAll('/etc/xinge', join(dir, 'etc'));
  const r = spawnSync(process.execPath, ['-e', local], { cwd: REPO, encoding: 'utf8', timeout: 30000 });
  t.equal(r.status, 0, r.stderr);
  const cfg = parseConfig(readFileSync(join(dir, 'etc', 'config.yaml'), 'utf8'), {});
  t.equal(cfg.http.host, '0.0.0.0', 'reachable from outside the container');
  t.equal(cfg.http.port, 8080, 'the exposed port');
  t.equal(cfg.store.path, '/var/lib/xinge/xinge.db', 'store on the volume');
  t.match(text, /VOLUME \["\/var\/lib\/xinge"\]/);
  t.equal(cfg.simulator.enabled, true, 'the demo simulator, as the embedded default');
});

t.test('npm run build output starts as CMD does; the HEALTHCHECK command passes against it, then fails once it stops', async (t) => {
  const dir = tempDir(t);
  const app = join(dir, 'app');
  mkdirSync(app);
  const tsc = spawnSync(process.execPath, [join(REPO, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(REPO, 'tsconfig.build.json'), '--outDir', join(app, 'dist'), '--sourceMap', 'false'], {
    cwd: REPO,
    encoding: 'utf8',
    timeout: 110000,
  });
  // Type errors elsewhere in a tree being edited do not stop tsc emitting; the run below is the test.
  t.ok(existsSync(join(app, 'dist', 'cli.js')), `dist/cli.js built ${tsc.stdout.slice(0, 500)}`);
  copyFileSync(join(REPO, 'package.json'), join(app, 'package.json'));
  symlinkSync(join(REPO, 'node_modules'), join(app, 'node_modules'));
  symlinkSync(join(REPO, 'config'), join(app, 'config'));

  const check = spawnSync(process.execPath, ['dist/cli.js', 'check-config', 'config/default.yaml'], { cwd: app, encoding: 'utf8', timeout: 30000 });
  t.equal(check.status, 0, check.stderr);
  t.equal(check.stdout.trim(), 'OK');

  const [httpPort, simPort] = [await freePort(), await freePort()];
  const cfgPath = writeYaml(dir, 'config.yaml', daemonConfig(dir, httpPort, simPort));
  const d = startDaemon(cfgPath, {}, [join(app, 'dist', 'cli.js')]);
  t.teardown(() => d.kill());
  await waitReady(d, httpPort);

  const hc = inFinal.find((i) => i.op === 'HEALTHCHECK')!;
  const argv = JSON.parse(hc.args.slice(hc.args.indexOf('CMD ') + 4)) as string[];
  t.equal(argv[0], 'node');
  const runHc = () =>
    new Promise<number | null>((resolve) => {
      const c = spawn(process.execPath, argv.slice(1), { env: { PATH: process.env.PATH, XINGE_HEALTHCHECK_URL: `http://127.0.0.1:${httpPort}/healthz` }, stdio: 'ignore' });
      const timer = setTimeout(() => c.kill('SIGKILL'), 10000);
      c.on('exit', (code) => {
        clearTimeout(timer);
        resolve(code);
      });
    });
  t.equal(await runHc(), 0, 'healthy while running');
  d.child.kill('SIGTERM');
  t.equal((await d.exited).code, 0, 'the built daemon drains and exits 0 on SIGTERM');
  t.equal(await runHc(), 1, 'unhealthy once it is gone');
});
