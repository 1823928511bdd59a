/** `xinge sim --mmsc-port`: the MMSC simulator from the command line, answering what it is told to. */
import t from 'tap';
import { Writable } from 'node:stream';
import { runSimCli } from '../../src/sim/run-sim.js';
import { parseMmscOptions } from '../../src/sim/mmsc-cli.js';
import { Mm7Client } from '../../src/mm7/client.js';
import { DEFAULT_STATUS_CODES } from '../../src/mm7/status-codes.js';
import { buildSubmitReq } from '../../src/mm7/submit-req.js';

t.test('option parsing: answers, ports, errors name the option', async (t) => {
  t.equal(parseMmscOptions({}), undefined, 'no --mmsc-port, no MMSC');
  t.match(parseMmscOptions({ mmscPort: '0', mmscAnswer: 'fault:3004', mmscReportDelayMs: '100' }), { port: 0, path: '/mm7', answer: { kind: 'fault', code: 3004 }, reportDelayMs: 100 });
  t.match(parseMmscOptions({ mmscPort: '0', mmscAnswer: 'http:503' }), { answer: { kind: 'http', status: 503 } });
  t.throws(() => parseMmscOptions({ mmscPort: '0', mmscAnswer: 'maybe' }), /mmscAnswer/);
  t.throws(() => parseMmscOptions({ mmscPort: '-1' }), /mmscPort/);
});

t.test('xinge sim --mmsc-port 0 --mmsc-answer status:3002 serves MM7 on its own port', async (t) => {
  let printed = '';
  const out = new Writable({ write(c, _e, cb) { printed += String(c); cb(); } });
  const before = { SIGINT: new Set(process.listeners('SIGINT')), SIGTERM: new Set(process.listeners('SIGTERM')) };
  const h = await runSimCli(['--port', '0', '--mmsc-port', '0', '--mmsc-answer', 'status:3002', '--mmsc-username', 'vasp', '--mmsc-password', 'pw'], out);
  // Only the handlers runSimCli added (they exit the process).
  for (const sig of ['SIGINT', 'SIGTERM'] as const) for (const l of process.listeners(sig)) if (!before[sig].has(l)) process.removeListener(sig, l);
  t.teardown(() => h.stop());
  const m = /MMSC listening on (http:\/\/\S+)/.exec(printed);
  t.ok(m, printed);
  t.ok(h.mmsc);
  const client = new Mm7Client({ url: m![1]!, username: 'vasp', password: 'pw', connectTimeoutMs: 2000, timeoutMs: 5000, retries: 0, retryInitialMs: 1, statusCodes: DEFAULT_STATUS_CODES });
  t.teardown(() => client.close());
  const built = buildSubmitReq(
    { namespace: 'urn:x', version: '6.8.0', namespacePrefix: true, vaspId: 'v', vasId: 'v', sender: '1069', senderAddressAs: 'short_code', soapCharset: 'utf-8', textCharset: 'utf-8', content: 'related', transferEncoding: 'binary', deliveryReport: true, allowAdaptations: true },
    { transactionId: 't1', recipients: ['8613800138000'], timeStamp: Date.now(), parts: [{ contentType: 'text/plain', text: 'hi' }] },
  );
  t.match(await client.submit(built), { kind: 'permanent', code: 3002 });
  t.equal(h.mmsc!.received.length, 1);
});

t.test('--mmsc-report-retry-ms: a report the receiver did not take is posted again, up to 10 times', async (t) => {
  t.match(parseMmscOptions({ mmscPort: '0', mmscReportRetryMs: '20' }), { reportRetryMs: 20 });
  t.throws(() => parseMmscOptions({ mmscPort: '0', mmscReportRetryMs: 'soon' }), /mmscReportRetryMs/);
  const { createServer } = await import('node:http');
  const { MmscSimulator, REPORT_RETRIES } = await import('../../src/sim/mmsc.js');
  const { waitFor } = await import('../helpers/fixtures.js');
  // The receiver refuses the first `refusals` posts of each run (503), then takes them.
  const run = async (refusals: number, retryMs: number | undefined): Promise<number> => {
    let posts = 0;
    const receiver = createServer((req, res) => {
      req.resume();
      req.on('end', () => res.writeHead(posts++ < refusals ? 503 : 200).end());
    });
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', () => r()));
    t.teardown(() => receiver.close());
    const url = `http://127.0.0.1:${(receiver.address() as { port: number }).port}/mm7/receiver`;
    const sim = new MmscSimulator({ port: 0, host: '127.0.0.1', path: '/mm7', reportUrl: url, reportDelayMs: 1, ...(retryMs === undefined ? {} : { reportRetryMs: retryMs }) });
    const { port } = await sim.start();
    t.teardown(() => sim.stop());
    const client = new Mm7Client({ url: `http://127.0.0.1:${port}/mm7`, username: '', password: '', connectTimeoutMs: 2000, timeoutMs: 5000, retries: 0, retryInitialMs: 1, statusCodes: DEFAULT_STATUS_CODES });
    t.teardown(() => client.close());
    const built = buildSubmitReq(
      { namespace: 'urn:x', version: '6.8.0', namespacePrefix: true, vaspId: 'v', vasId: 'v', sender: '1069', senderAddressAs: 'short_code', soapCharset: 'utf-8', textCharset: 'utf-8', content: 'related', transferEncoding: 'binary', deliveryReport: true, allowAdaptations: true },
      { transactionId: 't1', recipients: ['8613800138000'], timeStamp: Date.now(), parts: [{ contentType: 'text/plain', text: 'hi' }] },
    );
    t.match(await client.submit(built), { kind: 'success' });
    const expected = Math.min(refusals, retryMs === undefined ? 0 : REPORT_RETRIES) + 1;
    await waitFor(() => sim.reports.length >= expected, 10000, `${expected} report posts`);
    await new Promise((r) => setTimeout(r, 150)); // no more than that
    return sim.reports.length;
  };
  t.equal(await run(2, 20), 3, 'refused twice: posted 3 times, the last taken');
  t.equal(await run(100, 5), REPORT_RETRIES + 1, 'always refused: posted 11 times, then given up');
  t.equal(await run(2, undefined), 1, 'without the option: posted once');
  t.equal(await run(0, 20), 1, 'taken at once: posted once');
});
