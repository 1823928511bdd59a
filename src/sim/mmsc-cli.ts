/**
 * `xinge sim` options for the MMSC simulator (SPEC 12): it starts when --mmsc-port is given
 * (0 picks a free port). --mmsc-answer ok | status:CODE | fault:CODE | http:STATUS;
 * --mmsc-report-url where DeliveryReportReq go (the daemon's mm7.receiver), after
 * --mmsc-report-delay-ms, with --mmsc-report-status (Retrieved, Expired, Rejected…);
 * --mmsc-report-retry-ms N posts a report the receiver did not take again after N ms.
 */
import { MmscSimulator, type MmscAnswer, type MmscSimOptions } from './mmsc.js';

export const MMSC_OPTION_KEYS = [
  'mmscPort', 'mmscHost', 'mmscPath', 'mmscUsername', 'mmscPassword', 'mmscAnswer', 'mmscReportUrl', 'mmscReportDelayMs',
  'mmscReportStatus', 'mmscReportUsername', 'mmscReportPassword', 'mmscReportRetryMs',
] as const;

function parseAnswer(v: string): MmscAnswer {
  if (v === 'ok') return { kind: 'ok' };
  const m = /^(status|fault|http):(\d{3,4})$/.exec(v);
  if (m === null) throw new RangeError('sim option mmscAnswer: expected ok, status:CODE, fault:CODE or http:STATUS');
  const n = Number(m[2]);
  return m[1] === 'http' ? { kind: 'http', status: n } : { kind: m[1] as 'status' | 'fault', code: n };
}

function nonNegative(name: string, v: string | boolean | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`sim option ${name}: expected a non-negative integer, got ${String(v)}`);
  return n;
}

/** The MMSC simulator's options from CLI flags; undefined when --mmsc-port is not given. */
export function parseMmscOptions(o: Partial<Record<(typeof MMSC_OPTION_KEYS)[number], string | boolean>>): MmscSimOptions | undefined {
  const port = nonNegative('mmscPort', o.mmscPort);
  if (port === undefined) return undefined;
  const s = (v: string | boolean | undefined) => (typeof v === 'string' ? v : undefined);
  const out: MmscSimOptions = { port, host: s(o.mmscHost) ?? '127.0.0.1', path: s(o.mmscPath) ?? '/mm7' };
  if (s(o.mmscUsername) !== undefined) out.username = s(o.mmscUsername)!;
  if (s(o.mmscPassword) !== undefined) out.password = s(o.mmscPassword)!;
  if (s(o.mmscAnswer) !== undefined) out.answer = parseAnswer(s(o.mmscAnswer)!);
  if (s(o.mmscReportUrl) !== undefined) out.reportUrl = s(o.mmscReportUrl)!;
  const delay = nonNegative('mmscReportDelayMs', o.mmscReportDelayMs);
  if (delay !== undefined) out.reportDelayMs = delay;
  const retry = nonNegative('mmscReportRetryMs', o.mmscReportRetryMs);
  if (retry !== undefined) out.reportRetryMs = retry;
  if (s(o.mmscReportStatus) !== undefined) out.reportStatus = s(o.mmscReportStatus)!;
  if (s(o.mmscReportUsername) !== undefined) out.reportUsername = s(o.mmscReportUsername)!;
  if (s(o.mmscReportPassword) !== undefined) out.reportPassword = s(o.mmscReportPassword)!;
  return out;
}

/** Start the MMSC simulator when configured; prints where it listens. */
export async function startMmsc(o: MmscSimOptions | undefined, out: NodeJS.WritableStream): Promise<MmscSimulator | undefined> {
  if (o === undefined) return undefined;
  const sim = new MmscSimulator(o);
  const { port } = await sim.start();
  out.write(`xinge sim: MMSC listening on http://${o.host}:${port}${o.path}\n`);
  return sim;
}
