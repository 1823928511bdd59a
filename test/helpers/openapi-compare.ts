/**
 * OpenAPI comparison and README example extraction for test/ops/openapi.test.ts: what a
 * document says, reduced to routes, request fields and response statuses and fields, so a
 * difference is reported by name rather than as a JSON diff.
 */

type Json = Record<string, any>;

export const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options'] as const;

/** `METHOD /path` → the operation. */
export function operations(doc: Json): Map<string, Json> {
  const out = new Map<string, Json>();
  for (const [path, item] of Object.entries((doc.paths ?? {}) as Record<string, Json>)) {
    for (const m of METHODS) if (item[m] !== undefined) out.set(`${m.toUpperCase()} ${path}`, item[m] as Json);
  }
  return out;
}

/** Dotted paths of every property a schema names (arrays as `[]`, alternatives merged). */
export function fieldPaths(schema: Json | undefined, prefix = ''): string[] {
  if (schema === undefined || schema === null || typeof schema !== 'object') return [];
  const out: string[] = [];
  for (const [k, v] of Object.entries((schema.properties ?? {}) as Record<string, Json>)) {
    out.push(prefix + k, ...fieldPaths(v, `${prefix}${k}.`));
  }
  if (schema.items !== undefined) out.push(...fieldPaths(schema.items as Json, `${prefix}[].`));
  for (const alt of [...((schema.anyOf ?? []) as Json[]), ...((schema.oneOf ?? []) as Json[]), ...((schema.allOf ?? []) as Json[])]) {
    out.push(...fieldPaths(alt, prefix));
  }
  return [...new Set(out)].sort();
}

/** An operation as a set of facts: `param query.limit`, `body to`, `status 202`, `response 202 id`. */
export function facts(op: Json): Set<string> {
  const out = new Set<string>();
  for (const p of (op.parameters ?? []) as Json[]) out.add(`param ${p.in}.${p.name}`);
  const body = op.requestBody?.content?.['application/json']?.schema as Json | undefined;
  for (const f of fieldPaths(body)) out.add(`body ${f}`);
  for (const [status, r] of Object.entries((op.responses ?? {}) as Record<string, Json>)) {
    out.add(`status ${status}`);
    for (const [type, c] of Object.entries((r.content ?? {}) as Record<string, Json>)) {
      for (const f of fieldPaths(c.schema as Json)) out.add(`response ${status} ${type} ${f}`);
    }
  }
  return out;
}

/** Every difference between two documents, one line each (empty when they agree). */
export function differences(served: Json, committed: Json): string[] {
  const a = operations(served);
  const b = operations(committed);
  const out: string[] = [];
  for (const k of a.keys()) if (!b.has(k)) out.push(`route ${k} is served but not in docs/openapi.json`);
  for (const k of b.keys()) if (!a.has(k)) out.push(`route ${k} is in docs/openapi.json but not served`);
  for (const [k, op] of a) {
    const other = b.get(k);
    if (other === undefined) continue;
    const fa = facts(op);
    const fb = facts(other);
    for (const f of fa) if (!fb.has(f)) out.push(`${k}: ${f} is served but not in docs/openapi.json`);
    for (const f of fb) if (!fa.has(f)) out.push(`${k}: ${f} is in docs/openapi.json but not served`);
  }
  return out;
}

export interface ExampleRequest {
  line: number;
  method: string;
  path: string;
  body?: unknown;
}

/**
 * The curl commands of a Markdown text addressed to the daemon's API (localhost:8080),
 * with `\` continuations joined: method (-X…, else POST with -d, else GET), path, JSON body.
 */
export function curlExamples(markdown: string, port = 8080): ExampleRequest[] {
  const lines = markdown.split('\n');
  const out: ExampleRequest[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (!/^\s*curl\s/.test(lines[i]!)) continue;
    const start = i;
    let cmd = lines[i]!;
    while (/\\\s*$/.test(cmd) && i + 1 < lines.length) cmd = cmd.replace(/\\\s*$/, ' ') + lines[++i]!;
    const url = new RegExp(`(?:https?://)?(?:localhost|127\\.0\\.0\\.1):${port}(/[^\\s'"|]*)`).exec(cmd);
    if (url === null) continue;
    const data = /\s(?:-d|--data|--data-raw)\s+'([^']*)'/.exec(cmd);
    const x = /\s-X\s*([A-Z]+)/.exec(cmd);
    const method = x?.[1] ?? (data ? 'POST' : 'GET');
    const ex: ExampleRequest = { line: start + 1, method, path: url[1]! };
    if (data) ex.body = JSON.parse(data[1]!);
    out.push(ex);
  }
  return out;
}

/** The documented operation for a concrete path (`/v1/messages/msg_1` → `GET /v1/messages/{id}`). */
export function matchOperation(doc: Json, method: string, path: string): { key: string; op: Json; params: Record<string, string> } | undefined {
  const bare = path.split('?')[0]!;
  for (const [key, op] of operations(doc)) {
    const [m, template] = key.split(' ') as [string, string];
    if (m !== method) continue;
    const names: string[] = [];
    const re = new RegExp(`^${template.replace(/\{([^}]+)\}/g, (_, n: string) => (names.push(n), '([^/]+)'))}$`);
    const hit = re.exec(bare);
    if (hit) return { key, op, params: Object.fromEntries(names.map((n, i) => [n, decodeURIComponent(hit[i + 1]!)])) };
  }
  return undefined;
}
