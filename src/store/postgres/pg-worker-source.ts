/** The store connection's worker thread (PgConnection): CommonJS source run with eval, so it needs no TypeScript loader. */
export const PG_WORKER_SOURCE = `
const { workerData } = require('node:worker_threads');
const pg = require(workerData.driver);
// int8 (ms timestamps, counts) as numbers: every value the store keeps fits in 2^53.
pg.types.setTypeParser(20, (v) => Number(v));
pg.types.setTypeParser(1700, (v) => Number(v));
const { port, signal, url, statementTimeoutMs, idleTimeoutMs, connectTimeoutMs, applicationName } = workerData;
let client = null;
// A connection lost inside a transaction loses the transaction: until the caller ends it
// (COMMIT or ROLLBACK), every statement fails, COMMIT included, so nothing is called done
// that PostgreSQL rolled back.
let inTx = false;
let txLost = false;
function lose(c) {
  if (client !== c) return;
  client = null;
  if (inTx) txLost = true;
}
async function connection() {
  if (client !== null) return client;
  const c = new pg.Client({ connectionString: url, statement_timeout: statementTimeoutMs,
    idle_in_transaction_session_timeout: idleTimeoutMs, connectionTimeoutMillis: connectTimeoutMs,
    application_name: applicationName, keepAlive: true });
  c.on('error', () => lose(c));
  c.on('end', () => lose(c));
  await c.connect();
  client = c;
  return c;
}
// signal[0] counts the answers posted: a waiter compares it with what it saw before it looked.
function answer(a) {
  port.postMessage(a);
  Atomics.add(signal, 0, 1);
  Atomics.notify(signal, 0);
}
function verbOf(sql) {
  return /^\\s*(\\w+)/.exec(sql)?.[1]?.toUpperCase();
}
// A statement ran: whether a transaction is open now.
function ran(verb) {
  if (verb === 'BEGIN') inTx = true;
  else if (verb === 'COMMIT' || verb === 'ROLLBACK' || verb === 'END') inTx = false;
}
// After a statement's error: a broken connection is dropped (PostgreSQL rolls back what it had
// open); nobody waits to roll back an asynchronous COMMIT's transaction, so the worker does, and
// the next message does not run in an aborted transaction.
async function afterError(err, msg) {
  if (client !== null && (err.code === undefined || !/^[0-9A-Z]{5}$/.test(String(err.code)) || String(err.code).startsWith('08') || String(err.code).startsWith('57P'))) {
    const c = client; lose(c); c.end().catch(() => {});
  }
  if (msg.rollbackOnError === true && inTx) {
    if (client !== null) await client.query('ROLLBACK').catch(() => {});
    inTx = false;
    txLost = false;
  }
}
// One message at a time, in order: a message posted while another runs (an asynchronous
// COMMIT, then a statement that waits) must not interleave its statements with it.
let chain = Promise.resolve();
port.on('message', (msg) => {
  // A message that throws outside its statements is answered by the main thread's timeout;
  // the ones after it still run.
  chain = chain.then(() => run(msg)).catch(() => {});
});
async function run(msg) {
  if (msg.close === true) {
    const c = client; client = null;
    if (c !== null) await c.end().catch(() => {});
    answer({ id: msg.id, results: [] });
    port.close();
    return;
  }
  const ops = msg.ops;
  if (msg.oneQuery === true && !txLost && ops.length > 1 && ops.every(inlinable)) return runAsOneQuery(msg);
  const results = [];
  for (let i = 0; i < ops.length; i++) {
    const op = ops[i];
    const verb = verbOf(op.sql);
    try {
      if (txLost) {
        if (verb === 'ROLLBACK') { txLost = false; inTx = false; results.push({ rows: [], count: 0 }); continue; }
        if (verb === 'COMMIT') { txLost = false; inTx = false; }
        const e = new Error('connection lost in a transaction: it was rolled back'); e.code = '08006'; throw e;
      }
      const c = await connection();
      const res = await c.query({ name: op.name, text: op.sql, values: op.params, rowMode: op.array ? 'array' : undefined });
      // Several statements in one text (a migration) answer a list: the last one counts.
      const r = Array.isArray(res) ? res[res.length - 1] : res;
      ran(verb);
      results.push({ rows: r.rows, count: r.rowCount ?? 0, command: r.command });
    } catch (err) {
      if (verb === 'COMMIT' || verb === 'ROLLBACK') inTx = false;
      await afterError(err, msg);
      answer({ id: msg.id, results, error: { message: String(err && err.message), code: err && err.code, index: i } });
      return;
    }
  }
  answer({ id: msg.id, results });
}
// A message as one simple query: the statements, their parameters written as literals by
// the driver's own escaping, separated by semicolons. One round trip; PostgreSQL stops at the
// first error (the transaction, opened by the message's BEGIN, is then left aborted for the
// caller's ROLLBACK). Rows come back as arrays and are turned into objects where asked.
const PARAM_OR_STRING = /'(?:[^']|'')*'|\\$(\\d+)/g;
function inlinable(op) {
  return !op.sql.includes('$$') && !/;\\s*\\S/.test(op.sql);
}
function literal(c, v) {
  const p = pg.utils.prepareValue(v);
  if (p === null || p === undefined) return 'NULL';
  if (Buffer.isBuffer(p)) return "'\\\\x" + p.toString('hex') + "'";
  return c.escapeLiteral(String(p));
}
async function runAsOneQuery(msg) {
  const ops = msg.ops;
  let text = '';
  let c;
  try {
    c = await connection();
    text = ops.map((op) => op.sql.replace(PARAM_OR_STRING, (m, n) => (n === undefined ? m : literal(c, op.params[Number(n) - 1])))).join(';\\n');
    const res = await c.query({ text, rowMode: 'array' });
    const list = Array.isArray(res) ? res : [res];
    const results = list.map((r, i) => {
      ran(verbOf(ops[i].sql));
      const names = (r.fields ?? []).map((f) => f.name);
      const rows = ops[i].array ? r.rows : r.rows.map((row) => Object.fromEntries(names.map((n, k) => [n, row[k]])));
      return { rows, count: r.rowCount ?? 0, command: r.command };
    });
    answer({ id: msg.id, results });
  } catch (err) {
    // Which statement failed is not told: the transaction a BEGIN of this message opened is
    // open and aborted (or lost with the connection), as after a failed statement of a message
    // sent statement by statement.
    if (ops.some((op) => verbOf(op.sql) === 'BEGIN')) inTx = true;
    await afterError(err, msg);
    answer({ id: msg.id, results: [], error: { message: String(err && err.message), code: err && err.code, index: ops.length - 1 } });
  }
}
`;
