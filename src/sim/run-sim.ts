/**
 * runSim: start the SMSC simulator from simple, CLI-friendly options (`xinge sim`, the
 * benchmarks' child process). Values may come as strings from argv; they are parsed and
 * checked here, and a bad one is an error naming the option.
 */
import type { Logger } from 'pino';
import { SmscSimulator, type SmscSimInput, type WrongRespCommand } from './smsc.js';
import type { IdFormat, ReceiptStat } from './receipts.js';
import { CALLERID_SIM_FLAGS, startCallerIdSimFromFlags } from './callerid-provider-cli.js';
import type { MmscSimulator } from './mmsc.js';
import { MMSC_OPTION_KEYS, parseMmscOptions, startMmsc } from './mmsc-cli.js';
import { startSimWeb } from './web-server.js';

export interface RunSimOptions {
  host?: string;
  port?: number | string;
  systemId?: string;
  password?: string;
  /** Extra accounts, `id:password,id2:password2`. */
  accounts?: string;
  receiptDelayMs?: number | string;
  /** `DELIVRD=90,UNDELIV=5,EXPIRED=5` */
  receiptMix?: string | Partial<Record<ReceiptStat, number>>;
  /** all | last | none */
  receipts?: string;
  receiptCopies?: number | string;
  receiptRetryMs?: number | string;
  /** Slow mode: ms before each submit_sm_resp. */
  slowMs?: number | string;
  throttleEvery?: number | string;
  /** `N:STATUS`, e.g. `10:0x14` or `10:ESME_RMSGQFUL`-less hex/decimal status. */
  errorEvery?: string;
  dropAfter?: number | string;
  silent?: boolean | string;
  /** Each connection answers its first N submit_sm, then none (enquire_link still answered). */
  silentAfter?: number | string;
  /** Drop every connection N ms after its bind. */
  dropAfterBindMs?: number | string;
  /** submit_sm_resp status 0 with a malformed message_id: no-nul | too-long | empty. */
  malformedId?: string;
  /** `COMMAND[:N]`: every Nth submit_sm (default every one) answered with a PDU of that type, e.g. `generic_nack:10`. */
  wrongResp?: string;
  idFormat?: string;
  receiptIdFormat?: string;
  idStart?: number | string | bigint;
  /** Submits kept in memory for inspection (default 10000; 0 keeps none). */
  recordLimit?: number | string;
  logger?: Logger;
}

export interface SimHandle {
  port: number;
  sim: SmscSimulator;
  /** The MMSC simulator, when `xinge sim` got --mmsc-port. */
  mmsc?: MmscSimulator;
  stop(): Promise<void>;
}

function int(name: string, v: number | string | undefined): number | undefined {
  if (v === undefined || v === '') return undefined;
  const n = typeof v === 'number' ? v : Number(v);
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`sim option ${name}: expected a non-negative integer, got ${String(v)}`);
  return n;
}

/** A count of at least 1 (receipt copies: 0 would be `--receipts none`). */
function positive(name: string, v: number | string): number {
  const n = int(name, v);
  if (n === undefined || n < 1 || n > 100) throw new RangeError(`sim option ${name}: expected an integer from 1 to 100, got ${String(v)}`);
  return n;
}

function idFormat(name: string, v: string | undefined): IdFormat | undefined {
  if (v === undefined) return undefined;
  if (v === 'decimal' || v === 'hex' || v === 'hex-upper') return v;
  throw new RangeError(`sim option ${name}: expected decimal, hex or hex-upper`);
}

function mix(v: RunSimOptions['receiptMix']): Partial<Record<ReceiptStat, number>> | undefined {
  if (v === undefined || typeof v === 'object') return v;
  const out: Partial<Record<ReceiptStat, number>> = {};
  for (const part of v.split(',').filter(Boolean)) {
    const [k, w] = part.split('=');
    const weight = Number(w);
    if (!k || !/^(DELIVRD|UNDELIV|EXPIRED|REJECTD|UNKNOWN|DELETED|ACCEPTD|ENROUTE)$/.test(k) || !(weight >= 0)) {
      throw new RangeError(`sim option receiptMix: bad entry ${part}`);
    }
    out[k as ReceiptStat] = weight;
  }
  return out;
}

/** Translate RunSimOptions to simulator input (exported for tests). */
export function parseSimOptions(o: RunSimOptions): SmscSimInput {
  const accounts = [{ systemId: o.systemId ?? 'xinge', password: o.password ?? 'secret' }];
  for (const a of (o.accounts ?? '').split(',').filter(Boolean)) {
    const i = a.indexOf(':');
    if (i <= 0) throw new RangeError(`sim option accounts: expected id:password, got ${a}`);
    accounts.push({ systemId: a.slice(0, i), password: a.slice(i + 1) });
  }
  let errorEvery: SmscSimInput['errorEvery'];
  if (o.errorEvery) {
    const [n, st] = o.errorEvery.split(':');
    const status = Number(st);
    if (!(Number(n) > 0) || !Number.isInteger(status)) throw new RangeError('sim option errorEvery: expected N:STATUS');
    errorEvery = { n: Number(n), status };
  }
  let wrongResp: SmscSimInput['wrongResp'];
  if (o.wrongResp) {
    const [command, every] = o.wrongResp.split(':');
    if (!['enquire_link_resp', 'generic_nack', 'unbind_resp', 'deliver_sm_resp'].includes(command ?? '')) {
      throw new RangeError('sim option wrongResp: expected enquire_link_resp, generic_nack, unbind_resp or deliver_sm_resp[:N]');
    }
    const n = every === undefined ? 1 : Number(every);
    if (!Number.isInteger(n) || n < 1) throw new RangeError('sim option wrongResp: N must be a positive integer');
    wrongResp = { command: command as WrongRespCommand, every: n };
  }
  const malformedId = o.malformedId;
  if (malformedId !== undefined && malformedId !== 'no-nul' && malformedId !== 'too-long' && malformedId !== 'empty') {
    throw new RangeError('sim option malformedId: expected no-nul, too-long or empty');
  }
  const segments = o.receipts;
  if (segments !== undefined && segments !== 'all' && segments !== 'last' && segments !== 'none') {
    throw new RangeError('sim option receipts: expected all, last or none');
  }
  const input: SmscSimInput = {
    host: o.host ?? '127.0.0.1',
    port: int('port', o.port) ?? 2775,
    accounts,
    respDelayMs: int('slowMs', o.slowMs) ?? 0,
    throttleEvery: int('throttleEvery', o.throttleEvery) ?? 0,
    dropAfterSubmits: int('dropAfter', o.dropAfter) ?? 0,
    silent: o.silent === true || o.silent === 'true',
    silentAfterSubmits: int('silentAfter', o.silentAfter) ?? 0,
    dropAfterBindMs: int('dropAfterBindMs', o.dropAfterBindMs) ?? 0,
    malformedMessageId: malformedId ?? null,
    wrongResp: wrongResp ?? null,
    recordLimit: int('recordLimit', o.recordLimit) ?? 10000,
    receipts: {
      ...(o.receiptDelayMs !== undefined ? { delayMs: int('receiptDelayMs', o.receiptDelayMs)! } : {}),
      ...(mix(o.receiptMix) ? { mix: mix(o.receiptMix)! } : {}),
      ...(segments ? { segments } : {}),
      ...(o.receiptCopies !== undefined ? { copies: positive('receiptCopies', o.receiptCopies) } : {}),
      ...(o.receiptRetryMs !== undefined ? { retryMs: int('receiptRetryMs', o.receiptRetryMs)! } : {}),
    },
  };
  if (errorEvery) input.errorEvery = errorEvery;
  const f = idFormat('idFormat', o.idFormat);
  if (f) input.idFormat = f;
  const rf = idFormat('receiptIdFormat', o.receiptIdFormat);
  if (rf) input.receiptIdFormat = rf;
  if (o.idStart !== undefined) input.idStart = BigInt(o.idStart);
  if (o.logger) input.logger = o.logger;
  return input;
}

/** Start the simulator; resolves once it listens. */
export async function runSim(opts: RunSimOptions = {}): Promise<SimHandle> {
  const sim = new SmscSimulator(parseSimOptions(opts));
  const { port } = await sim.start();
  return { port, sim, stop: () => sim.stop() };
}

/**
 * `xinge sim [--port N] [--receipt-delay-ms N] [--slow-ms N] [--throttle-every N]
 * [--error-every N:STATUS] [--drop-after N] [--silent] [--silent-after N] [--drop-after-bind-ms N]
 * [--malformed-id no-nul|too-long|empty] [--wrong-resp COMMAND[:N]] [--id-format decimal|hex|hex-upper]
 * [--receipt-id-format …] [--id-start N] [--receipts all|last|none] [--receipt-copies N] [--receipt-retry-ms N]
 * [--receipt-mix DELIVRD=90,UNDELIV=10] [--system-id ID] [--password PW]
 * [--accounts id:pw,…] [--record-limit N] [--host H]` and the caller-ID provider's
 * --callerid-* flags (callerid-provider-cli.ts); --http-port N serves the handset inbox (/sim/)
 *
 * Flags are the RunSimOptions names in kebab-case. Starts the simulator, prints where it
 * listens, and runs until SIGINT/SIGTERM.
 */
export async function runSimCli(args: string[], out: NodeJS.WritableStream = process.stdout): Promise<SimHandle> {
  const opts: Record<string, string | boolean> = {};
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (!a.startsWith('--')) throw new RangeError(`xinge sim: unexpected argument ${a}`);
    const eq = a.indexOf('=');
    const key = (eq > 0 ? a.slice(2, eq) : a.slice(2)).replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
    if (eq > 0) opts[key] = a.slice(eq + 1);
    else if (args[i + 1] !== undefined && !args[i + 1]!.startsWith('--')) opts[key] = args[++i]!;
    else opts[key] = true;
  }
  const known = new Set([
    'host', 'port', 'systemId', 'password', 'accounts', 'receiptDelayMs', 'receiptMix', 'receipts', 'receiptCopies', 'receiptRetryMs', 'slowMs',
    'throttleEvery', 'errorEvery', 'dropAfter', 'silent', 'silentAfter', 'dropAfterBindMs', 'malformedId', 'wrongResp', 'idFormat', 'receiptIdFormat', 'idStart', 'recordLimit',
    ...CALLERID_SIM_FLAGS,
    'httpPort',
  ]);
  const mmscOpts: Record<string, string | boolean> = {};
  for (const k of MMSC_OPTION_KEYS) {
    if (k in opts) mmscOpts[k] = opts[k]!;
    delete opts[k];
  }
  for (const k of Object.keys(opts)) if (!known.has(k)) throw new RangeError(`xinge sim: unknown option --${k}`);
  const { httpPort, ...simOpts } = opts;
  const webPort = int('httpPort', typeof httpPort === 'string' ? httpPort : undefined);
  const mmscOptions = parseMmscOptions(mmscOpts);
  const smsc = await runSim(simOpts as RunSimOptions);
  out.write(`xinge sim: SMSC listening on ${smsc.sim.options.host}:${smsc.port}\n`);
  const mmsc = await startMmsc(mmscOptions, out).catch(async (err: unknown) => {
    await smsc.stop();
    throw err;
  });
  const handle: SimHandle = mmsc === undefined ? smsc : { ...smsc, mmsc, stop: () => mmsc.stop().then(() => smsc.stop()) };
  const callerId = await startCallerIdSimFromFlags(opts, out).catch(async (err: unknown) => {
    await handle.stop();
    throw err;
  });
  // --http-port N: the handset inbox (issue 20.4) on the simulator's own HTTP port.
  const web = webPort === undefined ? undefined : await startSimWeb(smsc.sim, { host: smsc.sim.options.host, port: webPort });
  if (web !== undefined) out.write(`xinge sim: handset inbox on http://${smsc.sim.options.host}:${web.port}/sim/\n`);
  const stop = (): void => {
    void Promise.all([web?.stop(), handle.stop(), callerId?.stop()]).finally(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  return handle;
}
