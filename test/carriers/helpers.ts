/** Shared fixtures for SMPP tests: a simulator on 127.0.0.1:0 and carrier configs pointing at it. */
import { configSchema, type CarrierConfig } from '../../src/config/schema.js';
import type { OutboundSegment } from '../../src/carriers/connector.js';
import { SmscSimulator, type SmscSimInput } from '../../src/sim/smsc.js';

export async function startSim(opts: SmscSimInput = {}): Promise<SmscSimulator> {
  const sim = new SmscSimulator({ receipts: { segments: 'none' }, ...opts });
  await sim.start();
  return sim;
}

/** A validated CarrierConfig (schema defaults applied) for the simulator on `port`. */
export function carrierFor(port: number, over: Record<string, unknown> = {}): CarrierConfig {
  const cfg = configSchema.parse({
    carriers: [
      {
        id: 'simA',
        host: '127.0.0.1',
        port,
        system_id: 'xinge',
        password: 'secret',
        window: 10,
        enquire_link_s: 30,
        response_timeout_s: 5,
        reconnect: { initial_ms: 20, max_ms: 100, auth_failure_ms: 60000 },
        source: { addr: '10690001', ton: 0, npi: 1 },
        ...over,
      },
    ],
  });
  return cfg.carriers[0]!;
}

let nextSeg = 1;
export function segment(over: Partial<OutboundSegment> = {}): OutboundSegment {
  const id = nextSeg++;
  return {
    segmentId: id,
    messageId: `m${id}`,
    to: '8613800138000',
    part: { shortMessage: Buffer.from('hello'), esmClass: 0, dataCoding: 0 },
    registeredDelivery: true,
    lane: 'notification',
    ...over,
  };
}

/** Resolve when `cond()` holds (checked every 5 ms), or reject after `ms`. */
export async function until(cond: () => boolean, ms = 3000, what = 'condition'): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
