/**
 * Checks across fields that a per-field schema cannot express (an unknown carrier named by
 * routing, a webhook without a secret, overlapping source extensions, a template's
 * unbalanced brace). They read the raw, interpolated document rather than the parsed one,
 * so they run even when the schema found errors elsewhere and one run reports every
 * problem. Each reads defensively: a value of the wrong type was already reported by the
 * schema and is skipped here.
 */

import { formatPath } from './path.js';

type Raw = Record<string, unknown>;
const obj = (v: unknown): Raw | undefined => (v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Raw) : undefined);
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

const PLACEHOLDER = /\{[A-Za-z_][A-Za-z0-9_]*\}/g;

/** Where a template text has a brace that is not part of a `{name}` placeholder, or undefined. */
export function unbalancedBrace(text: string): { index: number; char: string } | undefined {
  const masked = text.replace(PLACEHOLDER, (m) => ' '.repeat(m.length));
  const i = masked.search(/[{}]/);
  return i < 0 ? undefined : { index: i, char: masked[i]! };
}

/** `scheme://host[:port]` of a URL, or undefined when it is not an absolute http(s) URL. */
export function originOf(url: string): string | undefined {
  try {
    const u = new URL(url);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') return undefined;
    return u.origin;
  } catch {
    return undefined;
  }
}

function carrierChecks(raw: Raw, errors: string[]): Set<string> {
  const ids = new Set<string>();
  arr(raw.carriers).forEach((c, i) => {
    const id = str(obj(c)?.id);
    if (id === undefined) return;
    if (ids.has(id)) errors.push(`carriers[${i}].id: duplicate carrier id ${id}`);
    ids.add(id);
  });
  const routing = obj(raw.routing);
  const def = str(routing?.default_carrier);
  if (def !== undefined && !ids.has(def)) errors.push(`routing.default_carrier: unknown carrier ${def} (carriers: ${[...ids].join(', ') || 'none'})`);
  for (const [num, carrier] of Object.entries(obj(routing?.ported_numbers) ?? {})) {
    if (typeof carrier === 'string' && !ids.has(carrier)) errors.push(`${formatPath(['routing', 'ported_numbers', num])}: unknown carrier ${carrier}`);
  }
  return ids;
}

function clientChecks(raw: Raw, errors: string[]): void {
  const tokens = new Set<string>();
  const names = new Set<string>();
  const extensions: Array<{ ext: string; path: string }> = [];
  const sharedSecret = str(obj(raw.webhooks)?.secret) ?? '';
  arr(raw.clients).forEach((item, i) => {
    const c = obj(item);
    if (c === undefined) return;
    const path = `clients[${i}]`;
    const token = str(c.token);
    if (token !== undefined) {
      if (tokens.has(token)) errors.push(`${path}.token: duplicate token`);
      tokens.add(token);
      if (token.length < 8) errors.push(`${path}.token: expected at least 8 characters`);
    }
    const name = str(c.name);
    if (name !== undefined) {
      if (names.has(name)) errors.push(`${path}.name: duplicate client name ${name}`);
      names.add(name);
    }
    const ext = str(c.source_extension);
    if (ext !== undefined && ext !== '') extensions.push({ ext, path: `${path}.source_extension` });

    // SPEC 3: a client with a webhook URL must have a secret, its own or webhooks.secret.
    const secret = str(c.webhook_secret) ?? sharedSecret;
    if (str(c.webhook_url) !== undefined && secret === '') {
      errors.push(`${path}.webhook_secret: required: the client has a webhook_url and webhooks.secret is empty (receivers could not verify what they get)`);
    }
    if (str(c.webhook_url) === undefined && arr(c.callback_origins).length > 0 && secret === '') {
      errors.push(`${path}.webhook_secret: required: the client has callback_origins and webhooks.secret is empty`);
    }
    const allowHttp = typeof c.allow_http_callbacks === 'boolean' ? c.allow_http_callbacks : c.allow_private_callbacks === true;
    const url = str(c.webhook_url);
    if (url !== undefined && url.startsWith('http:') && !allowHttp) {
      errors.push(`${path}.webhook_url: plain http needs allow_http_callbacks: true (or use https)`);
    }
    arr(c.callback_origins).forEach((o, j) => {
      const p = `${path}.callback_origins[${j}]`;
      if (typeof o !== 'string') return;
      const origin = originOf(o);
      if (origin === undefined || origin !== o.replace(/\/$/, '')) {
        errors.push(`${p}: expected an origin scheme://host[:port] with no path, e.g. https://hooks.example.com`);
      } else if (origin.startsWith('http:') && !allowHttp) {
        errors.push(`${p}: plain http needs allow_http_callbacks: true (or use https)`);
      }
    });
  });
  // An MO to service code + extension goes to the extension's owner: no owner may be ambiguous.
  for (let a = 0; a < extensions.length; a++) {
    for (let b = a + 1; b < extensions.length; b++) {
      const x = extensions[a]!;
      const y = extensions[b]!;
      if (x.ext.startsWith(y.ext) || y.ext.startsWith(x.ext)) {
        errors.push(`${y.path}: extension ${y.ext} overlaps ${x.path} (${x.ext}): replies could not be told apart`);
      }
    }
  }
  const def = str(obj(raw.replies)?.default_client);
  if (def !== undefined && !names.has(def)) errors.push(`replies.default_client: unknown client ${def} (clients: ${[...names].join(', ') || 'none'})`);
}

/** SMPP source_addr holds at most 20 characters: service code + the longest extension must fit. */
function sourceLengthChecks(raw: Raw, errors: string[]): void {
  const longest = Math.max(0, ...arr(raw.clients).map((c) => str(obj(c)?.source_extension)?.length ?? 0));
  arr(raw.carriers).forEach((c, i) => {
    const addr = str(obj(obj(c)?.source)?.addr) ?? '';
    if (addr.length + longest > 20) {
      errors.push(`carriers[${i}].source.addr: ${addr.length} characters plus a ${longest}-digit source_extension exceed SMPP's 20`);
    }
  });
}

function templateChecks(raw: Raw, errors: string[]): void {
  const ids = new Set<string>();
  arr(raw.templates).forEach((item, i) => {
    const t = obj(item);
    if (t === undefined) return;
    const id = str(t.id);
    if (id !== undefined) {
      if (ids.has(id)) errors.push(`templates[${i}].id: duplicate template id ${id}`);
      ids.add(id);
    }
    if (t.text === undefined && t.stages === undefined) errors.push(`templates[${i}].text: required (or stages)`);
    const texts: Array<[string, unknown]> = [[`templates[${i}].text`, t.text]];
    for (const [k, v] of Object.entries(obj(t.stages) ?? {})) texts.push([formatPath(['templates', i, 'stages', k]), v]);
    arr(t.variants).forEach((v, j) => texts.push([`templates[${i}].variants[${j}].text`, obj(v)?.text]));
    for (const [p, text] of texts) {
      if (typeof text !== 'string') continue;
      const b = unbalancedBrace(text);
      if (b !== undefined) errors.push(`${p}: unbalanced "${b.char}" at character ${b.index + 1}: placeholders are {name}`);
    }
  });
}

function otpChecks(raw: Raw, errors: string[]): void {
  const usesOtp = arr(raw.clients).some((c) => arr(obj(c)?.scopes).includes('otp'));
  if (!usesOtp) return;
  const otp = obj(obj(raw.policy)?.otp);
  const secret = str(otp?.secret) ?? '';
  if (secret.length < 16) errors.push('policy.otp.secret: expected at least 16 characters (a client has scope otp)');
  const key = Buffer.from(str(otp?.body_key) ?? '', 'base64');
  if (key.length !== 32) errors.push('policy.otp.body_key: expected base64 of 32 bytes (a client has scope otp)');
}

export function crossCheckRaw(raw: Raw): string[] {
  const errors: string[] = [];
  carrierChecks(raw, errors);
  clientChecks(raw, errors);
  sourceLengthChecks(raw, errors);
  templateChecks(raw, errors);
  otpChecks(raw, errors);
  const http = obj(raw.http);
  const ht = http?.headers_timeout_ms;
  const rt = http?.request_timeout_ms;
  if (typeof ht === 'number' && typeof rt === 'number' && ht > rt) errors.push('http.headers_timeout_ms: expected at most http.request_timeout_ms');
  const store = obj(raw.store);
  if (store?.driver === 'postgres' && (typeof store.url !== 'string' || store.url === '')) errors.push('store.url: required with store.driver postgres (e.g. ${XINGE_STORE_URL})');
  return errors;
}
