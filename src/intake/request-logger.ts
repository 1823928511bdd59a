/**
 * Request loggers made on first use. fastify gives every request a pino child (bound to
 * its request id); building one re-creates the child's redaction and serializers, ~3 % of
 * the daemon's CPU on single POSTs, for requests that at the configured level (`warn` in
 * production) almost never log. This child is built only when a method whose level is
 * enabled is called, with the same bindings and options fastify would have used.
 */
import type { Bindings, ChildLoggerOptions, Logger } from 'pino';

type Method = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace';

export class LazyRequestLogger {
  readonly #parent: Logger;
  readonly #bindings: Bindings;
  readonly #opts: ChildLoggerOptions;
  #child: Logger | undefined;

  constructor(parent: Logger, bindings: Bindings, opts: ChildLoggerOptions) {
    this.#parent = parent;
    this.#bindings = bindings;
    this.#opts = opts;
  }

  /** The real child (built now if not yet). */
  get real(): Logger {
    return (this.#child ??= this.#parent.child(this.#bindings, this.#opts));
  }

  get level(): string {
    return this.#child?.level ?? this.#opts.level ?? this.#parent.level;
  }

  set level(l: string) {
    this.real.level = l;
  }

  isLevelEnabled(l: string): boolean {
    if (this.#child !== undefined) return this.#child.isLevelEnabled(l);
    const values = this.#parent.levels.values;
    return (values[l] ?? Infinity) >= (values[this.level] ?? Infinity);
  }

  #log(m: Method, args: unknown[]): void {
    if (!this.isLevelEnabled(m)) return;
    (this.real[m] as (...a: unknown[]) => void)(...args);
  }

  fatal(...args: unknown[]): void {
    this.#log('fatal', args);
  }
  error(...args: unknown[]): void {
    this.#log('error', args);
  }
  warn(...args: unknown[]): void {
    this.#log('warn', args);
  }
  info(...args: unknown[]): void {
    this.#log('info', args);
  }
  debug(...args: unknown[]): void {
    this.#log('debug', args);
  }
  trace(...args: unknown[]): void {
    this.#log('trace', args);
  }
  silent(): void {}

  child(bindings: Bindings, opts?: ChildLoggerOptions): Logger {
    return this.real.child(bindings, opts);
  }

  bindings(): Bindings {
    return this.#child?.bindings() ?? { ...this.#parent.bindings(), ...this.#bindings };
  }
}

/** fastify's `childLoggerFactory`. */
export function lazyChildLoggerFactory(logger: Logger, bindings: Bindings, opts: ChildLoggerOptions): Logger {
  return new LazyRequestLogger(logger, bindings, opts) as unknown as Logger;
}
