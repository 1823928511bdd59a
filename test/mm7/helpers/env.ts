/** The daemon with an MMSC simulator and a webhook receiver on loopback, for MMS tests. */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { baseConfigObject, makeConfig, startTestApp, tempDir, type TestApp } from '../../helpers/fixtures.js';
import { MmscSimulator, type MmscSimOptions } from '../../../src/sim/mmsc.js';

export interface Hook {
  headers: IncomingMessage['headers'];
  json: Record<string, unknown>;
}

export interface MmsEnv {
  env: TestApp;
  sim: MmscSimulator;
  hooks: Hook[];
  receiverUrl: string;
}

export const RECEIVER_AUTH = `Basic ${Buffer.from('mmsc:rpw').toString('base64')}`;

export async function startMmsEnv(
  t: { teardown(fn: () => unknown): void },
  opts: { sim?: MmscSimOptions; mmsc?: Record<string, unknown>; edit?: (cfg: Record<string, unknown>) => void; now?: () => number } = {},
): Promise<MmsEnv> {
  const hooks: Hook[] = [];
  const hookServer: Server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      hooks.push({ headers: req.headers, json: JSON.parse(body) as Record<string, unknown> });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => hookServer.listen(0, '127.0.0.1', () => r()));
  t.teardown(() => new Promise((r) => hookServer.close(r)));
  const hookPort = (hookServer.address() as AddressInfo).port;

  const sim = new MmscSimulator({ username: 'vasp', password: 'pw', reportDelayMs: 50, reportUsername: 'mmsc', reportPassword: 'rpw', ...opts.sim });
  const { port: simPort } = await sim.start();
  t.teardown(() => sim.stop());

  const dir = tempDir(t);
  const obj = baseConfigObject(dir);
  const clients = obj.clients as Array<Record<string, unknown>>;
  clients[0]!.scopes = ['sms', 'otp', 'mms'];
  clients[0]!.webhook_url = `http://127.0.0.1:${hookPort}/hooks`;
  clients[0]!.webhook_secret = 'whsec-test';
  obj.webhooks = { initial_backoff_ms: 50 };
  obj.mm7 = {
    mmscs: [
      {
        id: 'mmsc', url: `http://127.0.0.1:${simPort}/mm7`, username: 'vasp', password: 'pw', vaspid: 'xinge', vasid: 'loan',
        service_code: 'svc01', sender: '10690001', retry_initial_ms: 20, retries: 0, max_attempts: 3, ...opts.mmsc,
      },
    ],
    receiver: { host: '127.0.0.1', port: 0, path: '/mm7/receiver', username: 'mmsc', password: 'rpw', default_client: 'loans' },
  };
  opts.edit?.(obj);
  const env = startTestApp(makeConfig(obj), opts.now ? { now: opts.now } : {});
  await env.app.start();
  t.teardown(() => env.close());
  const receiverUrl = `http://127.0.0.1:${env.app.mms.receiverPort()}/mm7/receiver`;
  sim.options.reportUrl = receiverUrl;
  return { env, sim, hooks, receiverUrl };
}
