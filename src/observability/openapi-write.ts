/**
 * `npm run openapi`: builds the app on the embedded default config (its store in a temp
 * directory, nothing started or bound) and writes the document GET /openapi.json serves to
 * docs/openapi.json, or to the path given as the first argument.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { buildApp } from '../app.js';
import { DEFAULT_CONFIG_PATH, loadConfigFile } from '../config/load.js';
import { realConnectors } from '../daemon.js';
import { ROUTE_DOCS } from './openapi-routes.js';

/** The OpenAPI document of an app built on the embedded default. */
export async function generateOpenApi(): Promise<Record<string, unknown>> {
  const dir = mkdtempSync(join(tmpdir(), 'xinge-openapi-'));
  try {
    const base = loadConfigFile(DEFAULT_CONFIG_PATH);
    const config = { ...base, store: { ...base.store, path: join(dir, 'xinge.db') } };
    const app = buildApp({ config, logger: pino({ level: 'silent' }), ...realConnectors() });
    await app.http.ready();
    const doc = app.http.swagger() as unknown as Record<string, unknown>;
    await app.drain();
    return doc;
  } finally {
    rmSync(dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 20 });
  }
}

/** Routes served without a description (neither their own schema nor a ROUTE_DOCS entry), and ROUTE_DOCS entries no route matches. */
export function documentationGaps(doc: Record<string, unknown>): { undocumented: string[]; stale: string[] } {
  const paths = (doc.paths ?? {}) as Record<string, Record<string, { summary?: string }>>;
  const undocumented: string[] = [];
  const served = new Set<string>();
  for (const [path, ops] of Object.entries(paths)) {
    for (const [method, op] of Object.entries(ops)) {
      const key = `${method.toUpperCase()} ${path.replace(/\{([^}]+)\}/g, ':$1')}`;
      served.add(key);
      if (op.summary === undefined) undocumented.push(key);
    }
  }
  return { undocumented, stale: Object.keys(ROUTE_DOCS).filter((k) => !served.has(k)) };
}

/** The committed file's text: two-space JSON and a final newline. */
export const openApiText = (doc: unknown): string => `${JSON.stringify(doc, null, 2)}\n`;

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const out = process.argv[2] ?? fileURLToPath(new URL('../../docs/openapi.json', import.meta.url));
  generateOpenApi().then(
    (doc) => {
      writeFileSync(out, openApiText(doc));
      process.stdout.write(`wrote ${out}\n`);
      const gaps = documentationGaps(doc);
      for (const k of gaps.undocumented) process.stderr.write(`openapi: ${k} has no schema: give the route one, or add it to src/observability/openapi-routes.ts\n`);
      for (const k of gaps.stale) process.stderr.write(`openapi: ROUTE_DOCS entry ${k} matches no route\n`);
      process.exit(0);
    },
    (err: unknown) => {
      process.stderr.write(`openapi: ${(err as Error).message}\n`);
      process.exit(1);
    },
  );
}
