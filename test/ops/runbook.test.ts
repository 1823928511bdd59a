/**
 * Issue 20.6: the runbook covers install, start, reload, drain, upgrade, rotation, backup and
 * restore; the systemd unit in deploy/ passes `systemd-analyze verify`, runs the CLI the way
 * the runbook says (check-config before start, SIGHUP reload, SIGTERM drain with a stop
 * timeout above the daemon's own drain limit), and its check-config line is a real command.
 */
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CLI, REPO, runCli } from '../foundation/fixtures/daemon.js';
import { requireTool } from '../helpers/system-tool.js';

const UNIT = join(REPO, 'deploy', 'xinge.service');
const unitText = readFileSync(UNIT, 'utf8');
const unit = new Map<string, string[]>();
for (const line of unitText.split('\n')) {
  const m = /^([A-Za-z]+)=(.*)$/.exec(line.trim());
  if (m) unit.set(m[1]!, [...(unit.get(m[1]!) ?? []), m[2]!]);
}
const one = (k: string) => unit.get(k)?.[0];

t.test('the unit runs the daemon as the runbook says', async (t) => {
  t.equal(one('ExecStart'), '/usr/bin/node /opt/xinge/current/dist/cli.js --config /etc/xinge/config.yaml');
  t.match(one('ExecStartPre'), /dist\/cli\.js check-config \/etc\/xinge\/config\.yaml$/, 'config checked before each start');
  t.equal(one('ExecReload'), '/bin/kill -HUP $MAINPID', 'reload is SIGHUP');
  t.equal(one('KillSignal'), 'SIGTERM', 'stop is the SIGTERM drain');
  t.equal(one('KillMode'), 'mixed', 'SIGTERM to the daemon only, SIGKILL to the rest at the timeout');
  // The daemon exits by itself shutdown_grace_s + 15 s into a hung drain; systemd must not cut it first.
  t.ok(Number(one('TimeoutStopSec')) >= 40 + 15, 'TimeoutStopSec above the drain limit for shutdown_grace_s up to 40');
  t.equal(one('Restart'), 'on-failure');
  t.not(one('User'), 'root', 'an unprivileged user');
  t.equal(one('EnvironmentFile'), '/etc/xinge/xinge.env', 'secrets from an env file');
  t.equal(one('StateDirectory'), 'xinge', '/var/lib/xinge for the store');
  t.same(unit.get('ReadWritePaths'), ['/var/lib/xinge'], 'writes only to the store directory');
});

t.test('systemd-analyze verify accepts the unit', async (t) => {
  if (!requireTool(t, '/usr/bin/systemd-analyze', 'systemd')) return;
  const r = spawnSync('systemd-analyze', ['verify', UNIT], { encoding: 'utf8', timeout: 60000 });
  t.equal(r.status, 0, `systemd-analyze verify: ${r.stdout}${r.stderr}`);
  t.notMatch(r.stderr, /Failed to parse|Unknown key|ignoring/, 'no ignored or unknown settings');
});

t.test("the unit's check-config line is a real command", async (t) => {
  const args = one('ExecStartPre')!.split(' ').slice(2);
  t.equal(args[0], 'check-config');
  const ok = await runCli([args[0]!, join(REPO, 'config', 'default.yaml')]);
  t.equal(ok.code, 0, `check-config on a good file: ${ok.stdout}${ok.stderr}`);
  t.equal(ok.stdout, 'OK\n');
  void CLI;
});

t.test('the runbook covers each operation', async (t) => {
  const rb = readFileSync(join(REPO, 'docs', 'runbook.md'), 'utf8');
  for (const h of ['Install as a systemd service', 'Start, stop, status', 'Reload', 'Drain (stop)', 'Upgrade', 'Rotate tokens and secrets', 'Back up and restore', 'Alerts']) {
    t.match(rb, new RegExp(`^## ${h.replace(/[()]/g, '\\$&')}$`, 'm'), `section: ${h}`);
  }
  t.match(rb, 'deploy/xinge.service');
  t.match(rb, /xinge backup \S+ --config/);
  t.match(rb, /xinge restore \S+ --config/);
  t.match(rb, 'systemctl reload xinge');
  t.match(rb, 'systemctl stop xinge');
});
