/** The embedded default's shape: simulator.mmsc_port runs an MMSC in-process; an MMS goes out and comes back delivered. */
import t from 'tap';
import { Writable } from 'node:stream';
import { startDaemon } from '../../src/daemon.js';
import { createLogger } from '../../src/observability/logger.js';
import { parseConfig } from '../../src/config/load.js';
import { stringify } from 'yaml';
import { tempDir, waitFor } from '../helpers/fixtures.js';
import { daemonConfig, freePort } from '../foundation/fixtures/daemon.js';

t.test('simulator.mmsc_port: the built-in MMSC answers and reports to the daemon\'s receiver', async (t) => {
  const dir = tempDir(t);
  const [httpPort, simPort, mmscPort] = [await freePort(), await freePort(), await freePort()];
  const cfg = daemonConfig(dir, httpPort, simPort) as Record<string, any>;
  cfg.simulator.mmsc_port = mmscPort;
  cfg.clients[0].scopes = [...cfg.clients[0].scopes, 'mms'];
  cfg.mm7 = {
    mmscs: [{ id: 'sim-mmsc', url: `http://127.0.0.1:${mmscPort}/mm7`, username: 'vasp', password: 'secret', vaspid: 'xinge', vasid: 'demo', sender: '10690000' }],
    receiver: { host: '127.0.0.1', port: 0, path: '/mm7/receiver', username: 'mmsc', password: 'secret' },
  };
  const config = parseConfig(stringify(cfg), {});
  const lines: string[] = [];
  const logger = createLogger('info', new Writable({ write(c, _e, cb) { lines.push(String(c)); cb(); } }));
  const d = await startDaemon(config, logger);
  t.teardown(() => d.stop());
  t.ok(lines.some((l) => l.includes('built-in MMSC simulator listening')));
  const token = (cfg.clients[0] as { token: string }).token;
  const res = await d.app.http.inject({
    method: 'POST', url: '/v1/mms', headers: { authorization: `Bearer ${token}` },
    payload: { to: '13800138000', category: 'notification', subject: '演示', parts: [{ content_type: 'text/plain', text: '您好' }] },
  });
  t.equal(res.statusCode, 202, res.body);
  await waitFor(() => d.app.store.mms.get(res.json().id)?.status === 'delivered', 30000, 'delivered through the built-in MMSC');
  t.notOk(lines.some((l) => l.includes('13800138000')), 'no full phone number in the logs');
});
