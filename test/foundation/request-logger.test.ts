/** Request loggers made on first use: nothing built for lines below the level, the same output as a pino child otherwise. */
import t from 'tap';
import { Writable } from 'node:stream';
import { createLogger } from '../../src/observability/logger.js';
import { LazyRequestLogger } from '../../src/intake/request-logger.js';
import { buildHttpServer } from '../../src/intake/http-server.js';

function capture(level: string) {
  const lines: Array<Record<string, unknown>> = [];
  const logger = createLogger(level, new Writable({ write: (c, _e, cb) => (lines.push(JSON.parse(String(c)) as Record<string, unknown>), cb()) }));
  return { logger, lines };
}

t.test('below the level: no child is built and nothing is written', async (t) => {
  const { logger, lines } = capture('warn');
  let built = 0;
  const child = logger.child.bind(logger);
  logger.child = ((...a: Parameters<typeof logger.child>) => (built++, child(...a))) as typeof logger.child;
  const l = new LazyRequestLogger(logger, { reqId: 'req-1' }, {});
  l.debug({ x: 1 }, 'quiet');
  l.info('quiet');
  l.trace('quiet');
  t.equal(built, 0, 'no child for disabled levels');
  t.equal(lines.length, 0);
  t.equal(l.level, 'warn');
  t.ok(l.isLevelEnabled('error'));
  t.notOk(l.isLevelEnabled('info'));
  t.same(l.bindings(), { svc: 'xinge', reqId: 'req-1' }, 'bindings known without a child');
  l.warn({ n: 2 }, 'loud');
  l.error('louder');
  l.fatal('loudest');
  t.equal(built, 1, 'one child, made on the first enabled line');
  t.same(lines.map((x) => [x.reqId, x.msg]), [['req-1', 'loud'], ['req-1', 'louder'], ['req-1', 'loudest']]);
  t.equal(lines[0]!.n, 2);
  t.same(l.bindings(), { svc: 'xinge', reqId: 'req-1' });
  l.silent();
});

t.test("a route's own level, level changes and grandchildren", async (t) => {
  const { logger, lines } = capture('warn');
  const l = new LazyRequestLogger(logger, { reqId: 'req-2' }, { level: 'debug' });
  t.equal(l.level, 'debug');
  t.ok(l.isLevelEnabled('debug'));
  l.debug('route at debug');
  t.equal(l.isLevelEnabled('trace'), false, 'asked of the built child');
  l.trace('not at trace');
  l.level = 'trace';
  t.equal(l.level, 'trace');
  l.trace('now at trace');
  l.info('info');
  l.child({ part: 'x' }).warn('from a grandchild');
  t.same(lines.map((x) => x.msg), ['route at debug', 'now at trace', 'info', 'from a grandchild']);
  t.equal(lines[3]!.part, 'x');
  t.equal(lines[3]!.reqId, 'req-2');
  const m = new LazyRequestLogger(logger, {}, {});
  m.level = 'error';
  t.equal(m.level, 'error', 'setting the level builds the child');
  t.ok(m.real === m.real, 'one child');
});

t.test('the HTTP server: request lines at debug carry the request id; at warn an error still does', async (t) => {
  for (const level of ['debug', 'warn']) {
    const { logger, lines } = capture(level);
    const app = buildHttpServer({ logger, maxBodyBytes: 1000, clients: () => [], isDraining: () => false });
    app.get('/boom', async () => {
      throw new Error('kaput');
    });
    app.get('/ok', async () => ({ ok: true }));
    t.equal((await app.inject({ method: 'GET', url: '/ok' })).statusCode, 200);
    t.equal((await app.inject({ method: 'GET', url: '/boom' })).statusCode, 500);
    const requestLines = lines.filter((x) => x.msg === 'request');
    const errors = lines.filter((x) => x.msg === 'unhandled error');
    t.equal(requestLines.length, level === 'debug' ? 2 : 0, `${level}: request lines`);
    t.equal(errors.length, 1, `${level}: the error line`);
    t.match(errors[0], { reqId: /\S/, err: { message: 'kaput' } });
    await app.close();
  }
});
