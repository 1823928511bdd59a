/** Issue 18: the caller_id config section — defaults, required keys, errors naming the path. */
import t from 'tap';
import { ConfigError, parseConfig } from '../../src/config/load.js';

const errorsOf = (yaml: string, env: NodeJS.ProcessEnv = {}) => {
  try {
    parseConfig(yaml, env);
    return [];
  } catch (e) {
    if (e instanceof ConfigError) return e.errors;
    throw e;
  }
};

t.test('defaults', async (t) => {
  const cfg = parseConfig('caller_id:\n  base_url: http://127.0.0.1:9099/callerid\n  app_key: k\n  app_secret: ${S}\n', { S: 'secret' });
  t.same(cfg.caller_id, {
    provider: 'builtin', base_url: 'http://127.0.0.1:9099/callerid', app_key: 'k', app_secret: 'secret', timeout_ms: 5000, max_attempts: 4,
    backoff: { initial_ms: 500, max_ms: 30000 }, poll_s: 60, poll_max_s: 3600, expiry_warning_days: 30, numbers: [],
    display_name: { min: 2, max: 20 }, logo: { max_bytes: 102400, max_width: 512, max_height: 512 },
  });
  t.equal(parseConfig('{}', {}).caller_id, undefined, 'absent: off');
});

t.test('errors name the path', async (t) => {
  t.same(errorsOf('caller_id:\n  base_url: nope\n  app_key: ""\n  numbers: ["057188880000"]\n  provider: acme\n  logo: { max_px: 1 }\n').sort(), [
    'caller_id.app_key: expected non-empty string',
    'caller_id.app_secret: required',
    'caller_id.base_url: expected URL',
    'caller_id.logo.max_px: unknown key',
    'caller_id.numbers[0]: expected E.164 (+ and 7 to 15 digits)',
    'caller_id.provider: expected one of builtin',
  ]);
  t.match(errorsOf('caller_id:\n  base_url: http://x/\n  app_key: k\n  app_secret: ${XINGE_CALLERID_SECRET}\n').join('\n'), /XINGE_CALLERID_SECRET/, 'an unset secret is an error');
});
