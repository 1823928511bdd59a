/**
 * Issue 15, point 7: the project is self-contained. The README sends readers nowhere outside
 * the repository and spells commands as `npx xinge …`; docs/config.md (or another docs/
 * page) documents every config key; config/example.yaml has every key, each commented, and
 * loads; docs/api.md names every endpoint and error code; its webhook verification code works.
 */
import t from 'tap';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { createHmac, timingSafeEqual } from 'node:crypto';
import { join } from 'node:path';
import { parse } from 'yaml';
import { loadConfigFile } from '../../src/config/load.js';
import { ERROR_CATALOGUE } from '../../src/domain/errors.js';
import { registeredRoutes } from '../../src/intake/http-server.js';
import { signWebhook } from '../../src/webhooks/sign.js';
import { REPO } from '../foundation/fixtures/daemon.js';
import { configKeys } from '../helpers/config-keys.js';
import { baseConfigObject, makeConfig, startTestApp, tempDir } from '../helpers/fixtures.js';

const read = (p: string) => readFileSync(join(REPO, p), 'utf8');
const docs = () => readdirSync(join(REPO, 'docs')).filter((f) => f.endsWith('.md')).map((f) => read(`docs/${f}`)).join('\n');

t.test('README: no reference outside the repository; links resolve; commands via npx xinge', async (t) => {
  const readme = read('README.md');
  t.notMatch(readme, /\.\.\/shared|\/work\/|shared\/(SPEC|config\.example)/, 'no ../shared');
  for (const m of readme.matchAll(/\]\(([^)#]+)\)/g)) {
    const target = m[1]!;
    if (/^https?:/.test(target)) continue;
    t.ok(existsSync(join(REPO, target)), `link ${target} exists in the repo`);
  }
  t.match(readme, /npm ci/);
  for (const m of readme.matchAll(/`([^`\n]*\bxinge (?:check-config|sim|--config|--help)[^`\n]*)`/g)) {
    t.match(m[1], /^npx xinge /, `spelt with npx: ${m[1]}`);
  }
  t.match(readme, /^## Try it$/m, 'a Try it section');
  t.match(readme, /docs\/api\.md/);
  t.match(readme, /docs\/config\.md/);
  const pkg = JSON.parse(read('package.json')) as { bin: Record<string, string> };
  t.ok(existsSync(join(REPO, pkg.bin.xinge!)), 'the xinge bin is a file of the repository (npx xinge works before a build)');
});

t.test('every config key is documented with its default', async (t) => {
  const text = docs();
  const keys = configKeys();
  t.ok(keys.length > 150, `${keys.length} keys`);
  for (const k of keys) {
    if (!k.container) {
      const rows = text.split('\n').filter((l) => l.startsWith(`| \`${k.path}\``));
      t.ok(rows.length > 0, `${k.path} documented in docs/`);
      if (rows.length > 0 && k.default !== undefined) t.ok(rows.some((r) => r.includes(k.default!.replace(/\|/g, '\\|'))), `${k.path}: default ${k.default} shown`);
    }
  }
});

t.test('config/example.yaml: every key, every key commented, and it loads', async (t) => {
  const text = read('config/example.yaml');
  const doc = parse(text) as Record<string, unknown>;
  const present = new Set<string>();
  const walk = (v: unknown, path: string) => {
    if (Array.isArray(v)) return v.forEach((x) => walk(x, `${path}[]`));
    if (v === null || typeof v !== 'object') return;
    for (const [k, x] of Object.entries(v)) {
      const p = path === '' ? k : `${path}.${k}`;
      present.add(p);
      // Maps keyed by data (ported numbers, charsets, caps, intents) stop here.
      if (!/^(routing\.ported_numbers|carriers\[\]\.charsets|policy\.frequency_caps|policy\.intents)$/.test(p)) walk(x, p);
    }
  };
  walk(doc, '');
  for (const k of configKeys()) if (!k.path.endsWith('[]')) t.ok(present.has(k.path), `${k.path} in config/example.yaml`);
  text.split('\n').forEach((line, i, lines) => {
    if (!/^\s*(- )?[a-z_0-9]+:/.test(line)) return;
    const prev = lines[i - 1] ?? '';
    t.ok(line.includes('#') || /^\s*#/.test(prev) || /^\s+[a-z_0-9]+: [^{[#]*$/.test(line) && /#/.test(prev), `line ${i + 1} commented: ${line.trim().slice(0, 40)}`);
  });
  const vars = [...new Set([...text.matchAll(/\$\{([A-Z0-9_]+)\}/g)].map((m) => m[1]!))];
  const env: Record<string, string> = Object.fromEntries(vars.map((v) => [v, `${v.toLowerCase()}-value`]));
  env.XINGE_SMSC_PASSWORD = 'pw123456';
  env.XINGE_OTP_BODY_KEY = Buffer.alloc(32, 5).toString('base64');
  const cfg = loadConfigFile(join(REPO, 'config/example.yaml'), env);
  t.equal(cfg.clients.length, 3);
  t.equal(cfg.replies.default_client, 'loans');
});

t.test('docs/api.md names every endpoint and every error code', async (t) => {
  const api = read('docs/api.md');
  for (const code of Object.keys(ERROR_CATALOGUE)) t.ok(api.includes(`\`${code}\``), `error code ${code} documented`);
  const ta = startTestApp(makeConfig(baseConfigObject(tempDir(t))));
  t.teardown(() => ta.close());
  for (const r of registeredRoutes(ta.app.http)) {
    const path = r.url.replace(/:([a-z_]+)/gi, '{$1}');
    const variants = [path, path.replace(/\/\{id\}\/(pause|resume)$/, '/{id}/pause')];
    t.ok(variants.some((p) => api.includes(p)), `${r.methods.join(',')} ${r.url} documented`);
  }
});

t.test('the verification code in docs/api.md accepts our signature and refuses skew past 300 s', async (t) => {
  const api = read('docs/api.md');
  const code = /```js\n([\s\S]*?)```/.exec(api)![1]!.replace(/^import .*$/m, '');
  const verify = new Function('createHmac', 'timingSafeEqual', `${code}; return verify;`)(createHmac, timingSafeEqual) as (s: string, h: Record<string, string>, b: Buffer, now?: number) => boolean;
  const body = Buffer.from('{"id":"evt_1","type":"mo","text":"已还"}');
  const ts = 1_800_000_000;
  const headers = { 'x-xinge-timestamp': String(ts), 'x-xinge-signature': signWebhook('sek-0123456789', ts, body) };
  t.equal(verify('sek-0123456789', headers, body, ts + 299), true);
  t.equal(verify('sek-0123456789', headers, body, ts - 299), true);
  t.equal(verify('sek-0123456789', headers, body, ts + 301), false, 'too old');
  t.equal(verify('other-secret', headers, body, ts), false);
  t.equal(verify('sek-0123456789', headers, Buffer.from('{}'), ts), false);
});
