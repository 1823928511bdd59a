/** smpp_server binds (SPEC 8, issue 16 point 1): accounts, constant-time password, allowlist, max binds, TLS. */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { BindError } from '../../src/carriers/smpp/errors.js';
import { Status } from '../../src/carriers/smpp/command-status.js';
import { secretEquals } from '../../src/domain/secret-equals.js';
import { esme, RawPeer, scrape, startServerEnv } from './helpers.js';

t.test('bind_transmitter, bind_receiver and bind_transceiver with the right password', async (t) => {
  const { port } = await startServerEnv(t);
  for (const mode of ['transmitter', 'receiver', 'transceiver'] as const) {
    const s = esme(port, mode);
    await s.connect();
    t.equal(s.state, 'bound', mode);
    t.equal(s.peerSystemId, 'xinge');
    await s.unbind();
    t.equal((await s.closed).reason, 'unbound', `${mode}: unbind answered and closed cleanly`);
  }
});

t.test('a wrong password gets ESME_RINVPASWD and the connection is closed', async (t) => {
  const { env, port } = await startServerEnv(t);
  const s = esme(port, 'transceiver', { password: 'wrong' });
  const err = await s.connect().then(
    () => undefined,
    (e: unknown) => e,
  );
  t.ok(err instanceof BindError);
  t.equal((err as BindError).commandStatus, Status.ESME_RINVPASWD);
  t.equal((err as BindError).statusName, 'ESME_RINVPASWD');
  // The server closes its side too: a raw peer sees the resp, then the close.
  const raw = await RawPeer.connect(port);
  raw.send('bind_transmitter', 1, { system_id: 'legacy', password: 'nope' });
  const resp = await raw.next((p) => p.command === 'bind_transmitter_resp');
  t.equal(resp.commandStatus, Status.ESME_RINVPASWD);
  await raw.closed;
  t.match(await scrape(env), /xinge_smpp_server_bind_failures_total\{client="legacy",status="ESME_RINVPASWD"\} 2/);
  t.notMatch(env.lines.join('\n'), /nope|wrong"/, 'the password is not logged');
});

t.test('an unknown system_id gets ESME_RINVSYSID', async (t) => {
  const { port } = await startServerEnv(t);
  const err = (await esme(port, 'transmitter', { systemId: 'stranger' }).connect().catch((e: unknown) => e)) as BindError;
  t.equal(err.commandStatus, Status.ESME_RINVSYSID);
});

t.test('an address outside allowed_ips gets ESME_RBINDFAIL', async (t) => {
  const { port } = await startServerEnv(t, { account: { allowed_ips: ['10.1.0.0/16', '192.0.2.7'] } });
  const err = (await esme(port, 'transmitter').connect().catch((e: unknown) => e)) as BindError;
  t.equal(err.commandStatus, Status.ESME_RBINDFAIL);
});

t.test('an allowlist holding the address (as a subnet) lets it bind', async (t) => {
  const { port } = await startServerEnv(t, { account: { allowed_ips: ['127.0.0.0/8'] } });
  const s = esme(port, 'transmitter');
  await s.connect();
  t.equal(s.state, 'bound');
  await s.unbind();
});

t.test('max_binds per system_id: the extra bind is refused until one unbinds', async (t) => {
  const { env, port } = await startServerEnv(t, { account: { max_binds: 2 } });
  const a = esme(port, 'transmitter');
  const b = esme(port, 'receiver');
  await a.connect();
  await b.connect();
  const err = (await esme(port, 'transceiver').connect().catch((e: unknown) => e)) as BindError;
  t.equal(err.commandStatus, Status.ESME_RBINDFAIL);
  t.match(await scrape(env), /xinge_smpp_server_binds\{client="legacy"\} 2/);
  await a.unbind();
  const c = esme(port, 'transceiver');
  await c.connect();
  t.equal(c.state, 'bound', 'a slot freed by unbind is reusable');
  await Promise.all([b.unbind(), c.unbind()]);
});

t.test('a second bind on a bound connection gets ESME_RALYBND', async (t) => {
  const { port } = await startServerEnv(t);
  const raw = await RawPeer.connect(port);
  t.teardown(() => raw.destroy());
  raw.send('bind_transceiver', 1, { system_id: 'legacy', password: 'pw-leg1' });
  t.equal((await raw.next((p) => p.sequenceNumber === 1)).commandStatus, 0);
  raw.send('bind_transceiver', 2, { system_id: 'legacy', password: 'pw-leg1' });
  t.equal((await raw.next((p) => p.sequenceNumber === 2)).commandStatus, Status.ESME_RALYBND);
});

t.test('secretEquals compares whole secrets whatever their lengths', async (t) => {
  t.ok(secretEquals('abc', 'abc'));
  t.notOk(secretEquals('abc', 'abd'));
  t.notOk(secretEquals('abc', 'abcd'));
  t.notOk(secretEquals('', 'x'));
});

t.test('over TLS', async (t) => {
  const dir = path.join(import.meta.dirname, '..', 'carriers', 'fixtures');
  const { port } = await startServerEnv(t, {
    server: { tls: true, tls_cert: path.join(dir, 'tls-cert.pem'), tls_key: path.join(dir, 'tls-key.pem') },
  });
  const s = esme(port, 'transceiver', { tls: { ca: readFileSync(path.join(dir, 'tls-cert.pem')) } });
  await s.connect();
  t.equal(s.state, 'bound');
  await s.unbind();
});
