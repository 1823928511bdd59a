/** Caller-ID test helpers: the provider simulator on loopback, a clock, PNG fixtures, a card body. */
import { readFileSync } from 'node:fs';
import { CallerIdProviderSim, type CallerIdSimOptions } from '../../src/sim/callerid-provider.js';

export const APP_KEY = 'xinge-app';
export const APP_SECRET = 'sim-secret-0123456789';
export const LOGO = readFileSync(new URL('./fixtures/logo-64x48.png', import.meta.url));
export const WIDE_LOGO = readFileSync(new URL('./fixtures/wide-600x20.png', import.meta.url));
export const ORG_NUMBERS = ['+8657188880000', '+8657188880001', '+8657188880002'];

/** A clock the test moves by hand; starts at a fixed instant. */
export class Clock {
  t = Date.UTC(2026, 11, 6, 2, 0, 0);
  now = (): number => this.t;
  advance(ms: number): void {
    this.t += ms;
  }
}

export async function startProviderSim(t: { teardown(fn: () => unknown): void }, o: CallerIdSimOptions = {}): Promise<CallerIdProviderSim> {
  const sim = new CallerIdProviderSim({ apps: { [APP_KEY]: APP_SECRET }, ...o });
  await sim.start();
  t.teardown(() => sim.stop());
  return sim;
}

export function cardBody(over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    numbers: [ORG_NUMBERS[0]],
    display_name: '信鸽金融',
    logo_png_base64: LOGO.toString('base64'),
    industry: 'finance',
    license_no: '91330100MA2XXXXX0X',
    contact: 'ops@xinge.example',
    ...over,
  };
}
