/** A misbehaving client hurts only its own connection (issue 16 point 5). */
import t from 'tap';
import { Status } from '../../src/carriers/smpp/command-status.js';
import { encodeHeader, encodePdu } from '../../src/carriers/smpp/codec.js';
import { encodeUcs2 } from '../../src/encoding/index.js';
import { waitFor } from '../helpers/fixtures.js';
import { esme, PASSWORD, RawPeer, scrape, SIG, sm, startServerEnv } from './helpers.js';

async function boundRaw(port: number): Promise<RawPeer> {
  const raw = await RawPeer.connect(port);
  raw.send('bind_transceiver', 1, { system_id: 'legacy', password: PASSWORD });
  const r = await raw.next((p) => p.sequenceNumber === 1);
  if (r.commandStatus !== 0) throw new Error('bind refused');
  return raw;
}

t.test('protocol robustness beside a healthy bind', async (t) => {
  const { env, port } = await startServerEnv(t);
  await waitFor(() => env.app.carriers.get('c1')!.connector.isUp(), 5000, 'carrier bound');
  const healthy = esme(port, 'transceiver');
  await healthy.connect();
  t.teardown(() => healthy.close());
  const stillWorks = async (what: string) => {
    const o = await healthy.submit(sm('13800138000', encodeUcs2(`${SIG}${what}`)));
    t.equal(o.kind, 'accepted', `the healthy bind still submits after: ${what}`);
  };

  t.test('enquire_link is answered, before and after bind', async (t) => {
    const raw = await RawPeer.connect(port);
    t.teardown(() => raw.destroy());
    raw.write(encodeHeader(0x15, 0, 7));
    t.equal((await raw.next((p) => p.sequenceNumber === 7)).command, 'enquire_link_resp');
    raw.send('bind_transmitter', 8, { system_id: 'legacy', password: PASSWORD });
    await raw.next((p) => p.sequenceNumber === 8);
    raw.write(encodeHeader(0x15, 0, 9));
    const r = await raw.next((p) => p.sequenceNumber === 9);
    t.equal(r.command, 'enquire_link_resp');
    t.equal(r.commandStatus, 0);
  });

  t.test('an unknown command id gets generic_nack ESME_RINVCMDID and the bind stays', async (t) => {
    const raw = await boundRaw(port);
    t.teardown(() => raw.destroy());
    raw.write(encodeHeader(0x00000999, 0, 5));
    const nack = await raw.next((p) => p.sequenceNumber === 5);
    t.equal(nack.command, 'generic_nack');
    t.equal(nack.commandStatus, Status.ESME_RINVCMDID);
    raw.write(encodeHeader(0x15, 0, 6));
    t.equal((await raw.next((p) => p.sequenceNumber === 6)).command, 'enquire_link_resp', 'still answering');
  });

  t.test('a PDU whose body does not decode gets an error resp; the bind stays', async (t) => {
    const raw = await boundRaw(port);
    t.teardown(() => raw.destroy());
    // submit_sm cut after its service_type: a good header, a body that runs out.
    const bad = Buffer.from(encodePdu('submit_sm', 4, { source_addr: '1', destination_addr: '13800138000', short_message: Buffer.from('x') }).subarray(0, 18));
    bad.writeUInt32BE(bad.length, 0);
    raw.write(bad);
    const r = await raw.next((p) => p.sequenceNumber === 4);
    t.equal(r.command, 'submit_sm_resp');
    t.not(r.commandStatus, 0);
    raw.write(encodeHeader(0x15, 0, 5));
    t.equal((await raw.next((p) => p.sequenceNumber === 5)).command, 'enquire_link_resp');
  });

  t.test('garbage bytes close that connection only', async (t) => {
    const raw = await boundRaw(port);
    raw.write(Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'));
    await raw.closed;
    t.same(raw.received.map((p) => p.command), ['bind_transceiver_resp'], 'closed with no answer to the garbage');
    await stillWorks('垃圾数据之后');
  });

  t.test('an absurd command_length closes that connection only', async (t) => {
    const raw = await boundRaw(port);
    const head = encodeHeader(0x04, 0, 3);
    head.writeUInt32BE(0x7fffffff, 0);
    raw.write(head);
    await raw.closed;
    const short = await RawPeer.connect(port);
    const tiny = encodeHeader(0x15, 0, 1);
    tiny.writeUInt32BE(8, 0);
    short.write(tiny);
    await short.closed;
    t.same(raw.received.map((p) => p.command), ['bind_transceiver_resp'], 'a 2 GiB length: closed, not answered');
    t.same(short.received, [], 'an 8-octet length: closed, not answered');
    await stillWorks('长度异常之后');
    for (let i = 0; i < 100 && !/closed_total\{reason="framing_error"\} [3-9]/.test(await scrape(env)); i++) await new Promise((r) => setTimeout(r, 20));
    t.match(await scrape(env), /xinge_smpp_server_connections_closed_total\{reason="framing_error"\} [3-9]/);
  });

  t.test('unbind is answered with unbind_resp and the connection closes cleanly', async (t) => {
    const raw = await boundRaw(port);
    raw.write(encodeHeader(0x06, 0, 2));
    const r = await raw.next((p) => p.sequenceNumber === 2);
    t.equal(r.command, 'unbind_resp');
    t.equal(r.commandStatus, 0);
    await raw.closed;
    await stillWorks('解绑之后');
  });
});

t.test('an idle bind is dropped after idle_timeout_s; a talking one is not', async (t) => {
  const { env, port } = await startServerEnv(t, { server: { idle_timeout_s: 0.5 } });
  const idle = await boundRaw(port);
  const talking = await boundRaw(port);
  let seq = 10;
  const keepAlive = setInterval(() => talking.write(encodeHeader(0x15, 0, seq++)), 100);
  t.teardown(() => {
    clearInterval(keepAlive);
    talking.destroy();
  });
  await idle.closed;
  t.ok(idle.socket.destroyed, 'the idle bind was dropped');
  t.equal(talking.socket.destroyed, false, 'the one sending enquire_link is still up');
  for (let i = 0; i < 100 && !/closed_total\{reason="idle"\} 1/.test(await scrape(env)); i++) await new Promise((r) => setTimeout(r, 20));
  t.match(await scrape(env), /xinge_smpp_server_connections_closed_total\{reason="idle"\} 1/);
});

t.test('logs at debug hold no phone number, text or password of an SMPP client', async (t) => {
  const { env, port } = await startServerEnv(t, { level: 'debug' });
  await waitFor(() => env.app.carriers.get('c1')!.connector.isUp(), 5000, 'carrier bound');
  const s = esme(port, 'transceiver');
  await s.connect();
  t.teardown(() => s.close());
  await s.submit(sm('13912345678', encodeUcs2(`${SIG}验证码机密内容`)));
  await s.submit(sm('13912345678', encodeUcs2('没有签名机密内容')));
  await esme(port, 'transmitter', { password: 'zz-secret' }).connect().catch(() => undefined);
  await waitFor(() => env.sims.get('c1')!.recorder.submits.length === 1, 5000, 'sent');
  const logs = env.lines.join('\n');
  t.ok(logs.includes('smpp server'), 'the server did log');
  t.notMatch(logs, /13912345678/);
  t.notMatch(logs, /机密内容/);
  t.notMatch(logs, /zz-secret|pw-leg1/);
});

t.test('a connection that does not bind within bind_timeout_s is closed, even while it sends enquire_link', async (t) => {
  const { env, port } = await startServerEnv(t, { server: { bind_timeout_s: 0.4 } });
  const lingering = await RawPeer.connect(port);
  const bound = await boundRaw(port);
  t.teardown(() => bound.destroy());
  let seq = 10;
  // enquire_link keeps a connection from going idle, but it is no bind.
  const keepAlive = setInterval(() => {
    if (!lingering.socket.destroyed) lingering.write(encodeHeader(0x15, 0, seq++));
    if (!bound.socket.destroyed) bound.write(encodeHeader(0x15, 0, seq++));
  }, 100);
  t.teardown(() => {
    clearInterval(keepAlive);
    lingering.destroy();
  });
  await lingering.closed;
  t.ok(lingering.received.some((p) => p.command === 'enquire_link_resp'), 'it was answered while it lasted');
  await new Promise((r) => setTimeout(r, 500));
  t.equal(bound.socket.destroyed, false, 'a bound connection is not touched by the bind timeout');
  for (let i = 0; i < 100 && !/closed_total\{reason="bind_timeout"\} 1/.test(await scrape(env)); i++) await new Promise((r) => setTimeout(r, 20));
  t.match(await scrape(env), /xinge_smpp_server_connections_closed_total\{reason="bind_timeout"\} 1/);
});

t.test('connections that have not bound are at most max_binds: more are closed at once, binds still work', async (t) => {
  const { env, port } = await startServerEnv(t, { server: { max_binds: 3 } });
  await waitFor(() => env.app.carriers.get('c1')!.connector.isUp(), 5000, 'carrier bound');
  const waiting: RawPeer[] = [];
  t.teardown(() => waiting.forEach((r) => r.destroy()));
  for (let i = 0; i < 3; i++) waiting.push(await RawPeer.connect(port));
  // The server has seen the three before the fourth comes.
  for (const [i, r] of waiting.entries()) {
    r.write(encodeHeader(0x15, 0, 50 + i));
    await r.next((p) => p.sequenceNumber === 50 + i);
  }
  const extra = await RawPeer.connect(port);
  t.teardown(() => extra.destroy());
  const closedSoon = await Promise.race([extra.closed.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 3000))]);
  t.ok(closedSoon, 'a fourth unbound connection is closed at once');
  t.same(extra.received, [], 'the fourth unbound connection was closed without an answer');
  t.ok(waiting.every((r) => !r.socket.destroyed), 'the three that came first stay');
  // One of them binds: a place frees up, and a new connection binds and submits.
  waiting[0]!.send('bind_transceiver', 1, { system_id: 'legacy', password: PASSWORD });
  t.equal((await waiting[0]!.next((p) => p.sequenceNumber === 1)).commandStatus, 0, 'a waiting connection binds');
  const s = esme(port, 'transceiver');
  await s.connect();
  t.teardown(() => s.close());
  t.equal((await s.submit(sm('13800138000', encodeUcs2(`${SIG}连接上限之后`)))).kind, 'accepted', 'a new bind submits');
  for (let i = 0; i < 100 && !/closed_total\{reason="unbound_limit"\} 1/.test(await scrape(env)); i++) await new Promise((r) => setTimeout(r, 20));
  t.match(await scrape(env), /xinge_smpp_server_connections_closed_total\{reason="unbound_limit"\} 1/);
});
