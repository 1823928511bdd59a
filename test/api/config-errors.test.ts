/**
 * Issue 15, points 2 and 6: config errors a person can act on. A webhook URL without a
 * secret names its path; every schema error and every cross-check come out in one run; a
 * YAML syntax error shows the line with a caret; an unbalanced template brace is a config
 * error; the CLI answers one line (no stack trace) saying what to do.
 */
import t from 'tap';
import net from 'node:net';
import { join } from 'node:path';
import { parseConfig, ConfigError } from '../../src/config/load.js';
import { REPO, freePort, runCli, writeYaml } from '../foundation/fixtures/daemon.js';
import { tempDir } from '../helpers/fixtures.js';

function errorsOf(text: string, env: NodeJS.ProcessEnv = {}): string[] {
  try {
    parseConfig(text, env);
  } catch (err) {
    if (err instanceof ConfigError) return err.errors;
    throw err;
  }
  return [];
}

const carrier = `carriers:
  - { id: c1, host: 127.0.0.1, port: 2775, system_id: x, password: y }
`;

t.test('a client with a webhook URL and no secret is a config error naming the path', async (t) => {
  const text = `clients:
  - { name: a, token: token-aaaaaaaa, webhook_url: "https://hooks.example.com/a" }
  - { name: b, token: token-bbbbbbbb, webhook_url: "https://hooks.example.com/b", webhook_secret: "b-secret-0123456789" }
${carrier}`;
  const errs = errorsOf(text);
  t.equal(errs.length, 1, errs.join('\n'));
  t.match(errs[0], /^clients\[0\]\.webhook_secret: required/);
  t.same(errorsOf(text.replace('clients:', 'webhooks: { secret: shared-secret-0123456789 }\nclients:')), [], 'webhooks.secret covers it');
  // An unset variable is reported once, with its name, not again as a missing secret.
  const env = errorsOf(text.replace('webhook_url: "https://hooks.example.com/a" }', 'webhook_url: "https://hooks.example.com/a", webhook_secret: "${HOOK_SECRET}" }'));
  t.same(env, ['clients[0].webhook_secret: environment variable HOOK_SECRET is not set']);
});

t.test('callback origins: origins only; plain http only where the client allows it', async (t) => {
  const base = (extra: string) => `webhooks: { secret: shared-secret-0123456789 }
clients:
  - { name: a, token: token-aaaaaaaa, ${extra} }
${carrier}`;
  t.match(errorsOf(base('callback_origins: ["https://hooks.example.com/path"]')), [/^clients\[0\]\.callback_origins\[0\]: expected an origin/]);
  t.match(errorsOf(base('callback_origins: ["http://hooks.example.com"]')), [/^clients\[0\]\.callback_origins\[0\]: plain http needs allow_http_callbacks/]);
  t.match(errorsOf(base('webhook_url: "http://hooks.example.com/x"')), [/^clients\[0\]\.webhook_url: plain http needs allow_http_callbacks/]);
  t.same(errorsOf(base('callback_origins: ["http://hooks.example.com"], allow_http_callbacks: true')), []);
  t.same(errorsOf(base('callback_origins: ["http://127.0.0.1:9099"], allow_private_callbacks: true')), [], 'a private receiver may be plain http');
  t.same(errorsOf(base('callback_origins: ["https://hooks.example.com", "https://b.example.com:8443"]')), []);
});

t.test('source extensions may not overlap; replies.default_client must name a client', async (t) => {
  const errs = errorsOf(`replies: { default_client: nobody }
clients:
  - { name: a, token: token-aaaaaaaa, source_extension: "01" }
  - { name: b, token: token-bbbbbbbb, source_extension: "012" }
  - { name: c, token: token-cccccccc, source_extension: "02" }
${carrier}`);
  t.match(errs.join('\n'), /clients\[1\]\.source_extension: extension 012 overlaps clients\[0\]\.source_extension \(01\)/);
  t.match(errs.join('\n'), /replies\.default_client: unknown client nobody/);
  t.equal(errs.length, 2, errs.join('\n'));
});

t.test('an unbalanced template brace is a config error naming the text', async (t) => {
  const errs = errorsOf(`${carrier}templates:
  - { id: ok, category: notification, status: approved, text: "您好{name}，{amount}元" }
  - { id: bad, category: notification, status: approved, text: "您好{name，请还款" }
  - id: staged
    category: collection
    status: approved
    stages: { early: "a {name}", late: "逾期}天" }
`);
  t.equal(errs.length, 2, errs.join('\n'));
  t.match(errs[0], /^templates\[1\]\.text: unbalanced "\{" at character 3/);
  t.match(errs[1], /^templates\[2\]\.stages\.late: unbalanced "\}"/);
});

t.test('every error in one run: schema errors and cross-checks together', async (t) => {
  const errs = errorsOf(`http: { port: "eighty" }
clients:
  - { name: a, token: token-aaaaaaaa, webhook_url: "https://h.example.com/x", colour: red }
carriers:
  - { id: c1, host: 127.0.0.1, port: 2775, system_id: x, password: y, window: 0 }
routing: { default_carrier: nowhere }
templates:
  - { id: t, category: notification, text: "x{" }
`);
  const joined = errs.join('\n');
  for (const re of [/^http\.port: /m, /^clients\[0\]\.colour: unknown key/m, /^carriers\[0\]\.window: /m, /^routing\.default_carrier: unknown carrier nowhere/m, /^clients\[0\]\.webhook_secret: required/m, /^templates\[0\]\.text: unbalanced/m]) {
    t.match(joined, re);
  }
});

t.test('a YAML syntax error shows the line and a caret under the column', async (t) => {
  const errs = errorsOf('http:\n  port: 8080\n  host: [127.0.0.1\nstore: {}\n');
  t.equal(errs.length >= 1, true);
  const lines = errs[0]!.split('\n');
  t.match(lines[0], /^\(yaml\): line \d+, column \d+: /);
  t.equal(lines.length, 3, errs[0]);
  const caret = lines[2]!.indexOf('^');
  t.ok(caret >= 4, 'a caret');
  const m = /line (\d+), column (\d+)/.exec(lines[0]!)!;
  t.equal(caret - 4, Number(m[2]) - 1, 'under the column');
  t.equal(lines[1]!.slice(4), '0http:\n  port: 8080\n  host: [127.0.0.1\nstore: {}\n'.slice(1).split('\n')[Number(m[1]) - 1], 'the line itself');
});

t.test('CLI: errors are lines without a stack trace that say what to do', async (t) => {
  const dir = tempDir(t);
  const bad = writeYaml(dir, 'bad.yaml', `http: { port: 1 }\nrouting: { default_carrier: nowhere }\n${carrier}templates:\n  - { id: t, category: notification, text: "x{" }\n`);
  const yamlBad = writeYaml(dir, 'syntax.yaml', 'http:\n  port: [1\n');
  const [check, run, syntax, missing, help, simHelp, unknown] = await Promise.all([
    runCli(['check-config', bad]),
    runCli(['--config', bad]),
    runCli(['check-config', yamlBad]),
    runCli(['--config', join(dir, 'nope.yaml')]),
    runCli(['--help']),
    runCli(['sim', '--help']),
    runCli(['frobnicate']),
  ]);
  t.equal(check.code, 1);
  t.match(check.stdout, /routing\.default_carrier: unknown carrier nowhere/);
  t.match(check.stdout, /templates\[0\]\.text: unbalanced/);
  t.equal(run.code, 1);
  t.match(run.stderr, /routing\.default_carrier: unknown carrier nowhere/);
  t.match(run.stderr, /templates\[0\]\.text: unbalanced/);
  t.match(run.stderr, /fix .*bad\.yaml/i, 'says what to do');
  t.equal(syntax.code, 1);
  t.match(syntax.stdout, /\(yaml\): line 2, column 11: [^\n]+\n {6}port: \[1\n {14}\^/);
  t.equal(missing.code, 1);
  t.match(missing.stderr, /cannot read .*nope\.yaml: no such file/);
  for (const r of [check, run, syntax, missing, unknown]) t.notMatch(r.stderr + r.stdout, /\n\s+at /, 'no stack trace');
  t.equal(help.code, 0);
  t.match(help.stdout, /check-config/);
  t.equal(simHelp.code, 0, simHelp.stderr);
  t.match(simHelp.stdout, /--port/);
  t.match(simHelp.stdout, /--receipt-delay-ms/);
  t.equal(unknown.code, 2);
  t.match(unknown.stderr, /unknown command frobnicate.*--help/);
  t.equal(unknown.stderr.trim().split('\n').length, 1, 'one line');
});

t.test('CLI: a port in use names the port and its config key', async (t) => {
  const dir = tempDir(t);
  const port = await freePort();
  const blocker = net.createServer();
  await new Promise<void>((r) => blocker.listen(port, '127.0.0.1', r));
  t.teardown(() => blocker.close());
  const cfg = writeYaml(dir, 'busy.yaml', `http: { host: 127.0.0.1, port: ${port} }\nstore: { path: ${JSON.stringify(join(dir, 'x.db'))} }\nlog: { level: silent }\n${carrier}`);
  const r = await runCli(['--config', cfg]);
  t.equal(r.code, 1, r.stderr);
  t.match(r.stderr, new RegExp(`port ${port} .*in use.*http\\.port`));
  t.notMatch(r.stderr, /\n\s+at /, 'no stack trace');
  t.equal(r.stderr.trim().split('\n').length, 1, 'one line');
  void REPO;
});
