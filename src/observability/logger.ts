/**
 * pino with redaction at every level (SPEC 11): known secret and personal fields are
 * censored by path, and any run of 7+ digits in a log message string is masked.
 */
import pino, { type Logger, type DestinationStream } from 'pino';
import { maskDigitsIn, maskUrl } from './redact.js';

export const REDACT_PATHS = [
  'password', '*.password', 'token', '*.token', 'secret', '*.secret', 'code', '*.code_value', 'text', '*.text',
  'body', '*.body', 'params', '*.params', 'to', '*.to', 'from', '*.from', 'number', '*.number',
  'req.headers.authorization', 'headers.authorization', 'req.headers["idempotency-key"]',
  'short_message', '*.short_message', 'destination_addr', '*.destination_addr', 'source_addr', '*.source_addr',
];

export function createLogger(level: string, destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      base: { svc: 'xinge' },
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      hooks: {
        logMethod(args, method) {
          for (let i = 0; i < args.length; i++) {
            const a = args[i];
            if (typeof a === 'string') (args as unknown[])[i] = maskDigitsIn(a);
          }
          return method.apply(this, args);
        },
      },
      serializers: {
        // Error text can quote input (a number in a URL or a value): digits masked as in messages.
        err: (e: Error) => {
          const out = pino.stdSerializers.err(e);
          if (typeof out.message === 'string') out.message = maskDigitsIn(out.message);
          if (typeof out.stack === 'string') out.stack = maskDigitsIn(out.stack);
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
export type { Logger };
