/**
 * What the CLI prints for a failure: what went wrong and what to do, one line (a config
 * error lists one line per problem), never a stack trace. Text is digit-masked: a failure
 * may quote a value (a number) that must not reach a terminal log.
 */
import { ConfigError } from './config/load.js';
import { XingeError } from './domain/errors.js';
import { maskDigitsIn } from './observability/redact.js';

/** Wrong arguments: exit 2 with the usage to read. */
export class UsageError extends XingeError {
  readonly hint: string;
  constructor(message: string, hint: string) {
    super('usage', message);
    this.name = 'UsageError';
    this.hint = hint;
  }
}

/** A listener that could not bind: names the port and the config key (or option) that sets it. */
export class ListenError extends XingeError {
  readonly port: number;
  readonly key: string;
  constructor(reason: string, host: string, port: number, key: string) {
    const what =
      reason === 'EADDRINUSE'
        ? `port ${port} on ${host} is already in use: stop the process holding it or set ${key} to a free port`
        : reason === 'EACCES'
          ? `port ${port} on ${host} needs privileges this user lacks: set ${key} to a port above 1023`
          : reason === 'EADDRNOTAVAIL'
            ? `address ${host} is not on this machine: set ${key.replace(/port$/, 'host')} to one of its addresses`
            : `cannot listen on ${host}:${port} (${reason}): check ${key}`;
    super('listen_failed', what);
    this.name = 'ListenError';
    this.port = port;
    this.key = key;
  }
}

/** Re-throw a listen failure as a ListenError naming the config key. */
export function listenFailure(err: unknown, host: string, port: number, key: string): unknown {
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string' && /^E[A-Z]+$/.test(code)) return new ListenError(code, host, port, key);
  return err;
}

export function describeFailure(err: unknown): { text: string; exitCode: number } {
  if (err instanceof UsageError) return { text: `${err.message} (see ${err.hint})`, exitCode: 2 };
  if (err instanceof ConfigError) {
    const where = err.file === undefined ? 'the config' : err.file;
    const check = err.file === undefined ? '' : ` (npx xinge check-config ${err.file} checks it without starting)`;
    return { text: `invalid config:\n  ${err.errors.join('\n  ')}\nfix ${where} and start again${check}`, exitCode: 1 };
  }
  if (err instanceof XingeError) return { text: maskDigitsIn(err.message), exitCode: 1 };
  if (err instanceof RangeError && /^(xinge sim|sim option)/.test(err.message)) {
    return { text: `${err.message} (see xinge sim --help)`, exitCode: 2 };
  }
  const e = err as { code?: unknown; message?: unknown };
  const message = typeof e.message === 'string' ? e.message.split('\n')[0]! : String(err);
  const code = typeof e.code === 'string' ? ` [${e.code}]` : '';
  return { text: `${maskDigitsIn(message)}${code}: this is a bug or an environment problem; run with log.level debug for details`, exitCode: 1 };
}
