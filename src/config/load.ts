/**
 * Load, interpolate, validate and freeze a config file. Every error names its YAML path
 * (`carriers[0].window: expected integer >= 1`); all errors are collected, not just the first.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseDocument, type YAMLError } from 'yaml';
import type { ZodIssue } from 'zod';
import { XingeError } from '../domain/errors.js';
import { QuietHours } from '../policy/quiet-hours.js';
import { configSchema, type Config } from './schema.js';
import { crossCheckRaw } from './cross-checks.js';
import { formatPath } from './path.js';

export { formatPath };

export class ConfigError extends XingeError {
  readonly errors: string[];
  /** The file the errors are in, when loaded from one. */
  file: string | undefined;
  constructor(errors: string[], file?: string) {
    super('config_invalid', `invalid config:\n  ${errors.join('\n  ')}`);
    this.name = 'ConfigError';
    this.errors = errors;
    this.file = file;
  }
}

export const DEFAULT_CONFIG_PATH = fileURLToPath(new URL('../../config/default.yaml', import.meta.url));


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

/**
 * The policy calendar and quiet hours are compiled by QuietHours (src/policy): build it the
 * way the daemon does so check-config reports what would fail at start (an impossible date
 * such as 2026-02-30, a date both holiday and workday, an unknown time zone).
 */
function calendarProblems(policy: Config['policy']): string[] {
  try {
    QuietHours.fromPolicy(policy);
    return [];
  } catch (err) {
    const message = (err as Error).message;
    if (err instanceof RangeError) return [`policy.timezone: unknown time zone ${policy.timezone} (${message})`];
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
  if (doc.errors.length > 0) throw new ConfigError(doc.errors.map((e) => yamlError(text, e)));
  const raw = doc.toJS() ?? {};
  if (typeof raw !== 'object' || Array.isArray(raw)) throw new ConfigError(['(root): expected a mapping']);
  const errors: string[] = [];
  const interpolated = interpolateEnv(raw, env, errors) as Record<string, unknown>;
  const parsed = configSchema.safeParse(interpolated);
  // A value whose variable is unset was already reported with the variable's name: a
  // complaint about the empty string left in its place adds nothing.
  const envPaths = new Set(errors.map((e) => e.slice(0, e.indexOf(': '))));
  const add = (msgs: string[]) => {
    for (const m of msgs) if (!envPaths.has(m.slice(0, m.indexOf(': '))) && !errors.includes(m)) errors.push(m);
  };
  if (!parsed.success) for (const issue of parsed.error.issues) add(issueMessages(issue));
  // Cross-checks read the raw document, so they run even where the schema failed elsewhere.
  add(crossCheckRaw(interpolated));
  if (parsed.success) add(calendarProblems(parsed.data.policy));
  if (errors.length > 0 || !parsed.success) throw new ConfigError(errors);
  return deepFreeze(parsed.data);
}

/**
 * A YAML syntax error as `(yaml): line L, column C: what`, then the line and a caret under the
 * column. An error found at a blank line (an unclosed bracket runs to the end of the file)
 * points at the end of the last line with text instead, where the reader has to look.
 */
function yamlError(text: string, e: YAMLError): string {
  const what = e.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
  const pos = e.linePos?.[0];
  if (pos === undefined) return `(yaml): ${what}`;
  const lines = text.split(/\r?\n/);
  let lineNo = pos.line;
  let col = pos.col;
  while (lineNo > 1 && (lines[lineNo - 1] ?? '').trim() === '') {
    lineNo--;
    col = (lines[lineNo - 1] ?? '').length + 1;
  }
  const line = (lines[lineNo - 1] ?? '').replace(/\t/g, ' ');
  return `(yaml): line ${lineNo}, column ${col}: ${what}\n    ${line}\n    ${' '.repeat(Math.max(0, col - 1))}^`;
}

export function loadConfigFile(path: string, env: NodeJS.ProcessEnv = process.env): Config {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as { code?: string }).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : (err as Error).message;
    throw new ConfigError([`(file): cannot read ${path}: ${why}`], path);
  }
  try {
    return parseConfig(text, env);
  } catch (err) {
    if (err instanceof ConfigError) err.file = path;
    throw err;
  }
}
