/**
 * Issue 20.1: the OpenAPI 3.1 document served at GET /openapi.json is the one committed as
 * docs/openapi.json (`npm run openapi` regenerates it): a route, request field, status code
 * or response field in one and not the other fails here, by name. The README's (and
 * docs/try-it.md's) example requests are checked against it: each names a documented route,
 * its body fits the documented schema, and sent to a running app it gets a documented
 * status whose body fits the documented response.
 */
import t, { type Test } from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { baseConfigObject, makeConfig, startTestApp, tempDir } from '../helpers/fixtures.js';
import { REPO } from '../foundation/fixtures/daemon.js';
import { curlExamples, differences, facts, matchOperation, operations } from '../helpers/openapi-compare.js';
import { documentationGaps, openApiText } from '../../src/observability/openapi-write.js';

const DEMO_TOKEN = 'demo-token-change-me';
const committed = JSON.parse(readFileSync(join(REPO, 'docs', 'openapi.json'), 'utf8')) as Record<string, any>;

async function servedDoc(t: Test) {
  const dir = tempDir(t);
  const obj = baseConfigObject(dir);
  (obj.clients as unknown[]).push({ name: 'demo', token: DEMO_TOKEN, scopes: ['sms', 'otp', 'admin'], categories: ['otp', 'notification', 'collection', 'marketing'], free_text: true });
  const ta = startTestApp(makeConfig(obj));
  t.teardown(() => ta.close());
  await ta.app.http.ready();
  const res = await ta.app.http.inject({ method: 'GET', url: '/openapi.json' });
  return { ta, res, doc: res.json() as Record<string, any> };
}

t.test('GET /openapi.json serves OpenAPI 3.1 with every API route documented', async (t) => {
  const { res, doc } = await servedDoc(t);
  t.equal(res.statusCode, 200);
  t.match(res.headers['content-type'], /application\/json/);
  t.equal(doc.openapi, '3.1.0');
  t.ok(doc.components.securitySchemes.bearer, 'bearer auth scheme');
  const ops = operations(doc);
  for (const key of ['POST /v1/sms', 'POST /v1/sms/batch', 'GET /v1/messages/{id}', 'DELETE /v1/messages/{id}', 'POST /v1/otp', 'POST /v1/otp/verify', 'GET /healthz', 'GET /metrics']) {
    t.ok(ops.has(key), `${key} is in the document`);
  }
  t.notOk(ops.has('GET /openapi.json'), 'the document does not list itself');
  t.same(documentationGaps(doc).stale, [], 'every documentation entry matches a route');
  for (const [key, op] of ops) {
    t.ok(Object.keys(op.responses ?? {}).some((s) => /^[23]/.test(s)), `${key} documents a success status`);
  }
  const sms = ops.get('POST /v1/sms')!;
  const f = facts(sms);
  for (const fact of ['body to', 'body category', 'body text', 'body template', 'body send_at', 'status 202', 'status 400', 'status 401', 'status 422', 'status 429', 'status 503', 'response 202 application/json id']) {
    t.ok(f.has(fact), `POST /v1/sms: ${fact}`);
  }
});

t.test('the served document and docs/openapi.json agree (npm run openapi regenerates the file)', async (t) => {
  const { doc } = await servedDoc(t);
  const diff = differences(doc, committed);
  t.same(diff, [], diff.length > 0 ? `run \`npm run openapi\`:\n${diff.join('\n')}` : 'no route, field or status differs');
  t.equal(openApiText(doc), openApiText(committed), 'and the whole document is the same');
});

t.test('the comparison names a route, a field and a status code that differ', async (t) => {
  const copy = () => JSON.parse(JSON.stringify(committed)) as Record<string, any>;
  const noRoute = copy();
  delete noRoute.paths['/v1/otp/verify'];
  t.ok(differences(committed, noRoute).includes('route POST /v1/otp/verify is served but not in docs/openapi.json'));
  const noField = copy();
  delete noField.paths['/v1/sms'].post.requestBody.content['application/json'].schema.properties.reference;
  t.ok(differences(committed, noField).includes('POST /v1/sms: body reference is served but not in docs/openapi.json'));
  const extraStatus = copy();
  extraStatus.paths['/healthz'].get.responses['418'] = { description: 'teapot' };
  t.ok(differences(committed, extraStatus).includes('GET /healthz: status 418 is in docs/openapi.json but not served'));
  const noResponseField = copy();
  delete noResponseField.paths['/v1/otp'].post.responses['202'].content['application/json'].schema.properties.resend_after;
  t.ok(differences(committed, noResponseField).includes('POST /v1/otp: response 202 application/json resend_after is served but not in docs/openapi.json'));
});

for (const file of ['README.md', 'docs/try-it.md']) {
  t.test(`${file}: every example request is a documented route, with a documented body and answer`, async (t) => {
    const examples = curlExamples(readFileSync(join(REPO, file), 'utf8'));
    t.ok(examples.length >= 3, `${file} has example requests (${examples.length})`);
    const { ta, doc } = await servedDoc(t);
    const ajv = new Ajv2020({ strict: false, validateFormats: false, allErrors: true });
    let lastId: string | undefined;
    for (const ex of examples) {
      // Placeholders such as msg_… stand for the id the previous answer gave.
      const path = ex.path.replace(/(msg|otp)_…/g, (m) => lastId ?? m);
      const hit = matchOperation(doc, ex.method, path);
      if (!t.ok(hit, `${file}:${ex.line} ${ex.method} ${ex.path} is a documented route`)) continue;
      const reqSchema = hit!.op.requestBody?.content?.['application/json']?.schema;
      if (ex.body !== undefined) {
        if (!t.ok(reqSchema, `${file}:${ex.line} ${hit!.key} documents a request body`)) continue;
        const ok = ajv.validate(reqSchema, ex.body);
        t.ok(ok, `${file}:${ex.line} body fits ${hit!.key}: ${ajv.errorsText(ajv.errors)}`);
      }
      const res = await ta.app.http.inject({
        method: ex.method as 'GET',
        url: path,
        headers: { authorization: `Bearer ${DEMO_TOKEN}`, ...(ex.body !== undefined ? { 'content-type': 'application/json' } : {}) },
        ...(ex.body !== undefined ? { payload: JSON.stringify(ex.body) } : {}),
      });
      const documented = hit!.op.responses[String(res.statusCode)];
      if (!t.ok(documented, `${file}:${ex.line} ${hit!.key} answered ${res.statusCode}, a documented status (${Object.keys(hit!.op.responses).join(', ')})`)) continue;
      const resSchema = documented.content?.['application/json']?.schema;
      if (resSchema !== undefined) {
        const body = res.json() as Record<string, unknown>;
        t.ok(ajv.validate(resSchema, body), `${file}:${ex.line} the ${res.statusCode} answer fits the document: ${ajv.errorsText(ajv.errors)}`);
        if (typeof body.id === 'string') lastId = body.id;
      }
    }
  });
}
