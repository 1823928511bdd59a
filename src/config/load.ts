/**
 * Load, interpolate, validate and freeze a config file. Every error names its YAML path
 * (`carriers[0].window: expected integer >= 1`); all errors are collected, not just the first.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseDocument } from 'yaml';
import type { ZodIssue } from 'zod';
import { XingeError } from '../domain/errors.js';
import { QuietHours } from '../policy/quiet-hours.js';
import { configSchema, type Config } from './schema.js';

export class ConfigError extends XingeError {
  readonly errors: string[];
  constructor(errors: string[]) {
    super('config_invalid', `invalid config:\n  ${errors.join('\n  ')}`);
    this.name = 'ConfigError';
    this.errors = errors;
  }
}

export const DEFAULT_CONFIG_PATH = fileURLToPath(new URL('../../config/default.yaml', import.meta.url));

export function formatPath(path: ReadonlyArray<string | number>): string {
  let out = '';
  for (const p of path) {
    if (typeof p === 'number') out += `[${p}]`;
    else out += out === '' ? p : `.${p}`;
  }
  return out === '' ? '(root)' : out;
}

const ENV_REF = /\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g;

/** Replace `${VAR}` in every string; an unset variable is an error naming it and its path. */
export function interpolateEnv(
  value: unknown,
  env: NodeJS.ProcessEnv,
  errors: string[],
  path: Array<string | number> = [],
): unknown {
  if (typeof value === 'string') {
    return value.replace(ENV_REF, (_m, name: string) => {
      const v = env[name];
      if (v === undefined || v === '') {
        errors.push(`${formatPath(path)}: environment variable ${name} is not set`);
        return '';
      }
      return v;
    });
  }
  if (Array.isArray(value)) return value.map((v, i) => interpolateEnv(v, env, errors, [...path, i]));
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = interpolateEnv(v, env, errors, [...path, k]);
    return out;
  }
  return value;
}

function issueMessages(issue: ZodIssue): string[] {
  if (issue.code === 'unrecognized_keys') {
    return issue.keys.map((k) => `${formatPath([...issue.path, k])}: unknown key`);
  }
  if (issue.code === 'invalid_union') return [`${formatPath(issue.path)}: ${issue.message}`];
  return [`${formatPath(issue.path)}: ${issue.message}`];
}

/** Checks across fields that a per-field schema cannot express. */
function crossCheck(cfg: Config): string[] {
  const errors: string[] = [];
  const ids = new Set<string>();
  cfg.carriers.forEach((c, i) => {
    if (ids.has(c.id)) errors.push(`carriers[${i}].id: duplicate carrier id ${c.id}`);
    ids.add(c.id);
  });
  if (cfg.routing.default_carrier !== undefined && !ids.has(cfg.routing.default_carrier)) {
    errors.push(`routing.default_carrier: unknown carrier ${cfg.routing.default_carrier}`);
  }
  for (const [num, carrier] of Object.entries(cfg.routing.ported_numbers)) {
    if (!ids.has(carrier)) errors.push(`routing.ported_numbers.${num}: unknown carrier ${carrier}`);
  }
  const tokens = new Set<string>();
  cfg.clients.forEach((c, i) => {
    if (tokens.has(c.token)) errors.push(`clients[${i}].token: duplicate token`);
    tokens.add(c.token);
    if (c.token.length < 8) errors.push(`clients[${i}].token: expected at least 8 characters`);
  });
  const tids = new Set<string>();
  cfg.templates.forEach((t, i) => {
    if (tids.has(t.id)) errors.push(`templates[${i}].id: duplicate template id ${t.id}`);
    tids.add(t.id);
    if (t.text === undefined && t.stages === undefined) errors.push(`templates[${i}].text: required (or stages)`);
  });
  errors.push(...calendarProblems(cfg));
  const usesOtp = cfg.clients.some((c) => c.scopes.includes('otp'));
  if (usesOtp) {
    if (cfg.policy.otp.secret.length < 16) errors.push('policy.otp.secret: expected at least 16 characters (a client has scope otp)');
    const key = Buffer.from(cfg.policy.otp.body_key, 'base64');
    if (key.length !== 32) errors.push('policy.otp.body_key: expected base64 of 32 bytes (a client has scope otp)');
  }
  return errors;
}

/**
 * The policy calendar and quiet hours are compiled by QuietHours (src/policy): build it the
 * way the daemon does so check-config reports what would fail at start (an impossible date
 * such as 2026-02-30, a date both holiday and workday, an unknown time zone).
 */
function calendarProblems(cfg: Config): string[] {
  try {
    QuietHours.fromPolicy(cfg.policy);
    return [];
  } catch (err) {
    const message = (err as Error).message;
    if (err instanceof RangeError) return [`policy.timezone: unknown time zone ${cfg.policy.timezone} (${message})`];
    return message
      .split('; ')
      .filter((m) => m !== '')
      .map((m) => (/^policy\.[\w.[\]]+: /.test(m) ? m : `policy.calendar: ${m}`));
  }
}

export function deepFreeze<T>(o: T): T {
  if (o !== null && typeof o === 'object' && !Object.isFrozen(o)) {
    Object.freeze(o);
    for (const v of Object.values(o as object)) deepFreeze(v);
  }
  return o;
}

/** Validate config text. Throws ConfigError carrying every problem found. */
export function parseConfig(text: string, env: NodeJS.ProcessEnv = process.env): Config {
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) throw new ConfigError(doc.errors.map((e) => `(yaml): ${e.message.split('\n')[0]}`));
  const raw = doc.toJS() ?? {};
  if (typeof raw !== 'object' || Array.isArray(raw)) throw new ConfigError(['(root): expected a mapping']);
  const errors: string[] = [];
  const interpolated = interpolateEnv(raw, env, errors);
  const parsed = configSchema.safeParse(interpolated);
  // A value whose variable is unset was already reported with the variable's name: a
  // complaint about the empty string left in its place adds nothing.
  const envPaths = new Set(errors.map((e) => e.slice(0, e.indexOf(': '))));
  const add = (msgs: string[]) => {
    for (const m of msgs) if (!envPaths.has(m.slice(0, m.indexOf(': ')))) errors.push(m);
  };
  if (!parsed.success) {
    for (const issue of parsed.error.issues) add(issueMessages(issue));
    throw new ConfigError(errors);
  }
  add(crossCheck(parsed.data));
  if (errors.length > 0) throw new ConfigError(errors);
  return deepFreeze(parsed.data);
}

export function loadConfigFile(path: string, env: NodeJS.ProcessEnv = process.env): Config {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError([`(file): cannot read ${path}: ${(err as Error).message}`]);
  }
  return parseConfig(text, env);
}
