/**
 * OpenAPI 3.1 from the routes (issue 20.1): @fastify/swagger collects every route as it is
 * declared, with its own fastify schema or, failing that, its entry in ROUTE_DOCS, and
 * GET /openapi.json serves the document. `npm run openapi` writes the same document to
 * docs/openapi.json (openapi-write.ts); a test fails when the two differ.
 */
import type { FastifyInstance, FastifySchema } from 'fastify';
import { fastifySwagger } from '@fastify/swagger';
import { readFileSync } from 'node:fs';
import { ROUTE_DOCS } from './openapi-routes.js';

/** package.json's version: two levels up from src/observability/ and from dist/observability/. */
function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: string };
  return pkg.version ?? '0.0.0';
}

export const OPENAPI_PATH = '/openapi.json';

export function registerOpenApi(app: FastifyInstance, version = packageVersion()): void {
  // Called as a function, not through app.register(): the routes are declared synchronously
  // right after this, and a registered plugin would load (and add its onRoute hook) only at
  // ready(), after they had all gone by unseen.
  fastifySwagger(
    app,
    {
      openapi: {
        openapi: '3.1.0',
        info: {
          title: 'xinge',
          version,
          description:
            'Internal HTTP API of the xinge SMS/MMS gateway. JSON in and out; errors are {"error":{"code","message","field"}}. Authorization: Bearer <token>, with scopes per client.',
        },
        components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      },
      transform: ({ schema, url, route }) => {
        const method = Array.isArray(route.method) ? String(route.method[0]) : String(route.method);
        const own = schema !== undefined && Object.keys(schema).length > 0 ? schema : undefined;
        return { schema: own ?? (ROUTE_DOCS[`${method} ${url}`] as FastifySchema | undefined) ?? {}, url };
      },
    },
    (err?: Error) => {
      if (err) throw err;
    },
  );
  app.get(OPENAPI_PATH, { schema: { hide: true } }, async () => app.swagger());
}
