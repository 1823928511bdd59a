/**
 * `xinge sim` flags for the caller-ID provider simulator. It starts when --callerid-port is
 * given (0: any free port):
 *   --callerid-port N  --callerid-host H  --callerid-base-path /callerid
 *   --callerid-app-key KEY  --callerid-secret SECRET
 *   --callerid-review-ms N  --callerid-activate-ms N  --callerid-validity-days N
 *   --callerid-reject "reason"          reject every review with this reason
 *   --callerid-fail 503:60000[:5]       answer 503 (or 429) for 60 s, with Retry-After: 5
 * A running simulator takes the same commands on {base}/_sim/… (see callerid-provider.ts).
 */
import { CallerIdProviderSim, type CallerIdSimOptions } from './callerid-provider.js';

export const CALLERID_SIM_FLAGS = [
  'calleridPort', 'calleridHost', 'calleridBasePath', 'calleridAppKey', 'calleridSecret', 'calleridReviewMs',
  'calleridActivateMs', 'calleridValidityDays', 'calleridReject', 'calleridFail',
] as const;

type Flags = Record<string, string | boolean | undefined>;

function nonNegative(name: string, v: string | boolean | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (typeof v !== 'string' || !Number.isInteger(n) || n < 0) throw new RangeError(`xinge sim: --${kebab(name)} expects a non-negative integer`);
  return n;
}

function text(name: string, v: string | boolean | undefined): string | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || v === '') throw new RangeError(`xinge sim: --${kebab(name)} expects a value`);
  return v;
}

const kebab = (s: string) => s.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

/** The simulator's options from the flags; undefined when --callerid-port is not given. */
export function callerIdSimOptions(f: Flags): CallerIdSimOptions | undefined {
  const port = nonNegative('calleridPort', f.calleridPort);
  if (port === undefined) {
    const stray = CALLERID_SIM_FLAGS.find((k) => f[k] !== undefined);
    if (stray !== undefined) throw new RangeError(`xinge sim: --${kebab(stray)} needs --callerid-port`);
    return undefined;
  }
  const o: CallerIdSimOptions = { port };
  const host = text('calleridHost', f.calleridHost);
  if (host !== undefined) o.host = host;
  const base = text('calleridBasePath', f.calleridBasePath);
  if (base !== undefined) o.basePath = base;
  const key = text('calleridAppKey', f.calleridAppKey);
  const secret = text('calleridSecret', f.calleridSecret);
  if (key !== undefined || secret !== undefined) o.apps = { [key ?? 'xinge-app']: secret ?? 'xinge-secret' };
  const review = nonNegative('calleridReviewMs', f.calleridReviewMs);
  if (review !== undefined) o.reviewMs = review;
  const activate = nonNegative('calleridActivateMs', f.calleridActivateMs);
  if (activate !== undefined) o.activateMs = activate;
  const days = nonNegative('calleridValidityDays', f.calleridValidityDays);
  if (days !== undefined) o.validityDays = days;
  return o;
}

export function parseFail(v: string): { status: 429 | 503; ms: number; retryAfterS: number | undefined } {
  const m = /^(429|503):(\d+)(?::(\d+))?$/.exec(v);
  if (m === null) throw new RangeError('xinge sim: --callerid-fail expects STATUS:MS[:RETRY_AFTER_S] with STATUS 429 or 503');
  return { status: Number(m[1]) as 429 | 503, ms: Number(m[2]), retryAfterS: m[3] === undefined ? undefined : Number(m[3]) };
}

/** Start the caller-ID provider simulator if the flags ask for it; prints where it listens. */
export async function startCallerIdSimFromFlags(f: Flags, out: NodeJS.WritableStream): Promise<CallerIdProviderSim | undefined> {
  const o = callerIdSimOptions(f);
  if (o === undefined) return undefined;
  const reject = text('calleridReject', f.calleridReject);
  const fail = f.calleridFail === undefined ? undefined : parseFail(String(f.calleridFail));
  const sim = new CallerIdProviderSim(o);
  await sim.start();
  if (reject !== undefined) sim.rejectReviews(reject);
  if (fail !== undefined) sim.failFor(fail.status, fail.ms, fail.retryAfterS);
  out.write(`xinge sim: caller-ID provider listening on ${sim.baseUrl}\n`);
  return sim;
}
