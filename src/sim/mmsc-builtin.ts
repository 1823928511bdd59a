/**
 * The embedded default's MMSC (SPEC 2, 12): with `simulator.enabled` and
 * `simulator.mmsc_port`, an MMSC simulator runs in-process, speaking the first MMSC's path
 * and credentials and reporting to the daemon's own MM7 receiver.
 */
import type { Logger } from 'pino';
import type { Config } from '../config/schema.js';
import { MmscSimulator } from './mmsc.js';

export async function startBuiltinMmsc(config: Config, logger: Logger): Promise<MmscSimulator | undefined> {
  const port = config.simulator.mmsc_port;
  if (!config.simulator.enabled || port === undefined) return undefined;
  const first = config.mm7?.mmscs[0];
  const r = config.mm7?.receiver;
  const sim = new MmscSimulator({
    host: config.simulator.host,
    port,
    path: first === undefined ? '/mm7' : new URL(first.url).pathname,
    username: first?.username ?? '',
    password: first?.password ?? '',
    reportUsername: r?.username ?? '',
    reportPassword: r?.password ?? '',
    reportDelayMs: config.simulator.receipt_delay_ms,
    logger: logger.child({ component: 'mmsc-sim' }),
  });
  const { port: bound } = await sim.start();
  logger.info({ port: bound }, 'built-in MMSC simulator listening');
  return sim;
}

/** Reports go to the receiver's real port (known once the app has started; the config may say 0). */
export function pointAtReceiver(sim: MmscSimulator, config: Config, receiverPort: number | undefined): void {
  const r = config.mm7?.receiver;
  if (r === undefined || !r.enabled || receiverPort === undefined) return;
  sim.options.reportUrl = `http://${r.host}:${receiverPort}${r.path}`;
}
