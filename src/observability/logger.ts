/**
 * pino with redaction at every level (SPEC 11). Every value is judged by what it is
 * (redact.ts: phone numbers, bare codes, Chinese text, configured secrets), whatever its
 * key, so diagnostics under keys such as `code` (ECONNREFUSED) or `from` (a carrier id)
 * survive. Keys that only ever hold message content or credentials are censored by path
 * as well, since Latin message text cannot be told from a diagnostic by its value.
 */
import pino, { type Logger, type DestinationStream } from 'pino';
import { maskDigitsIn, maskUrl, redactValue } from './redact.js';

export const CONTENT_PATHS = [
  'password', '*.password', 'token', '*.token', 'secret', '*.secret', 'code_value', '*.code_value',
  'text', '*.text', 'body', '*.body', 'params', '*.params', 'short_message', '*.short_message', 'message_payload', '*.message_payload',
  'req.headers.authorization', 'headers.authorization', 'req.headers["idempotency-key"]',
];

export interface LoggerOptions {
  /** Values never to log in any form (tokens, passwords, keys of the config): cut out of every string. */
  secrets?: readonly string[];
}

export function createLogger(level: string, destination?: DestinationStream, opts: LoggerOptions = {}): Logger {
  // Short strings would cut ordinary words out of lines: a secret shorter than 6 is not one.
  const secrets = [...new Set((opts.secrets ?? []).filter((s) => s.length >= 6))].sort((a, b) => b.length - a.length);
  return pino(
    {
      level,
      base: { svc: 'xinge' },
      redact: { paths: CONTENT_PATHS, censor: '[redacted]' },
      formatters: {
        log: (obj) => redactValue(obj, secrets) as Record<string, unknown>,
      },
      hooks: {
        logMethod(args, method) {
          for (let i = 0; i < args.length; i++) {
            const a = args[i];
            if (typeof a === 'string') (args as unknown[])[i] = scrubMessage(a, secrets);
          }
          return method.apply(this, args);
        },
      },
      serializers: {
        // Error text can quote input (a number in a URL or a value): digits masked as in messages.
        err: (e: Error) => {
          const out = pino.stdSerializers.err(e);
          if (typeof out.message === 'string') out.message = scrubMessage(out.message, secrets);
          if (typeof out.stack === 'string') out.stack = scrubMessage(out.stack, secrets);
          return out;
        },
        req: (req: { method?: string; url?: string; id?: string }) => ({
          method: req.method,
          url: req.url === undefined ? undefined : maskUrl(req.url),
          id: req.id,
        }),
        res: (res: { statusCode?: number }) => ({ statusCode: res.statusCode }),
      },
    },
    destination,
  );
}

/** A log message or error text: secrets cut out, digit runs masked (the text itself is ours). */
function scrubMessage(s: string, secrets: readonly string[]): string {
  let out = s;
  for (const secret of secrets) if (out.includes(secret)) out = out.split(secret).join('[secret]');
  return maskDigitsIn(out);
}

/** The configured values a log must never hold: tokens, passwords, keys, webhook secrets. */
export function configSecrets(cfg: unknown): string[] {
  const out: string[] = [];
  const walk = (v: unknown, key: string): void => {
    if (typeof v === 'string') {
      if (/(password|token|secret|key)$/i.test(key) && v !== '') out.push(v);
      return;
    }
    if (Array.isArray(v)) v.forEach((x) => walk(x, key));
    else if (v !== null && typeof v === 'object') for (const [k, x] of Object.entries(v)) walk(x, k);
  };
  walk(cfg, '');
  return out;
}

export type { Logger };
