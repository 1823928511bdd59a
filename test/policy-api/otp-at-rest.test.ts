/**
 * Issue 6, point 7 (a): after OTP sends and verifies, the codes appear in none of the SQLite
 * files — main, -wal, -shm — in any form (ASCII digits, UTF-16BE, UTF-16LE, 32/48/64-bit
 * integers little and big endian), read as raw bytes while the app is open and after close.
 * A clear-text marker sent as an ordinary notification is found by the same scan, so the
 * scan is shown able to see a stored text.
 */
import t from 'tap';
import { PgSyncClient } from '../../src/store/postgres/sync-client.js';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir, waitFor, type FakeConnector } from '../helpers/fixtures.js';
import { launch, policyConfig, post, segText } from './fixtures/policy-app.js';

/** Every byte form the code could take in a file. */
function forms(code: string): Array<[string, Buffer]> {
  const out: Array<[string, Buffer]> = [
    ['ascii', Buffer.from(code, 'latin1')],
    ['utf16le', Buffer.from(code, 'utf16le')],
    ['utf16be', Buffer.from(code, 'utf16le').swap16()],
  ];
  const n = BigInt(code);
  const b8 = Buffer.alloc(8);
  b8.writeBigUInt64LE(n);
  out.push(['int64le', Buffer.from(b8)]);
  b8.writeBigUInt64BE(n);
  out.push(['int64be', Buffer.from(b8)]);
  if (n < 2n ** 48n) {
    // SQLite stores integers big-endian in 1, 2, 3, 4, 6 or 8 bytes.
    out.push(['int48be', Buffer.from(b8.subarray(2))]);
  }
  if (n < 2n ** 32n) {
    const b4 = Buffer.alloc(4);
    b4.writeUInt32LE(Number(n));
    out.push(['int32le', Buffer.from(b4)]);
    b4.writeUInt32BE(Number(n));
    out.push(['int32be', Buffer.from(b4)]);
  }
  return out;
}

function dbFiles(dbPath: string): Array<[string, Buffer]> {
  // On PostgreSQL what is at rest is every row of every table, read back as text.
  if (pgUrl !== undefined) return [['main', Buffer.from(pgDump(pgUrl))], ['-wal', Buffer.alloc(0)], ['-shm', Buffer.alloc(0)]];
  return [dbPath, `${dbPath}-wal`, `${dbPath}-shm`].filter((p) => existsSync(p)).map((p) => [p.slice(dbPath.length) || 'main', readFileSync(p)]);
}

function findIn(files: Array<[string, Buffer]>, code: string): string[] {
  const hits: string[] = [];
  for (const [name, bytes] of files) for (const [form, pat] of forms(code)) if (bytes.includes(pat)) hits.push(`${name}:${form}`);
  return hits;
}

let pgUrl: string | undefined;
function pgDump(url: string): string {
  const c = new PgSyncClient({ url });
  try {
    const tables = c.query<{ t: string }>(`SELECT table_name AS t FROM information_schema.tables WHERE table_schema = 'public'`);
    return tables.map(({ t }) => c.query<{ r: string }>(`SELECT x::text AS r FROM "${t}" x`).map((r) => r.r).join('\n')).join('\n');
  } finally {
    c.close();
  }
}

async function codeOf(fc: FakeConnector, messageId: string): Promise<string> {
  const seg = await waitFor(() => fc.submits.find((s) => s.messageId === messageId), 3000, 'OTP sent');
  return /验证码(?:是)?\s*(\d+)/.exec(segText(seg))![1]!;
}

t.test('OTP codes are in none of the SQLite files, in any form, open or closed', async (t) => {
  const dir = tempDir(t);
  const dbPath = join(dir, 'xinge.db');
  const ta = launch(t, policyConfig(dir));
  pgUrl = ta.app.config().store.driver === 'postgres' ? ta.app.config().store.url : undefined;
  const fc = ta.connectors.get('c1')!;
  fc.respond = (seg) => ({ kind: 'accepted', carrierMessageId: String(300000 + seg.segmentId) });
  await ta.app.start();
  const otpMsg = (id: string) => ta.app.store.aux.getOtp(id)!.messageId!;

  const codes: string[] = [];
  const sends: Array<{ id: string; mid: string; code: string; to: string }> = [];
  for (let i = 0; i < 6; i++) {
    const to = `1380013${String(8000 + i)}`;
    const r = await post(ta, '/v1/otp', { to, purpose: i % 2 === 0 ? 'login' : 'pay', length: i === 5 ? 8 : 10 });
    t.equal(r.status, 202);
    const mid = otpMsg(r.body.id);
    const code = await codeOf(fc, mid);
    codes.push(code);
    sends.push({ id: r.body.id, mid, code, to });
  }
  // A code the client made itself, through POST /v1/sms (with an Idempotency-Key: its table too).
  const own = String(1_000_000_000 + Math.floor(Math.random() * 8_999_999_999)).slice(0, 10);
  const sms = await ta.app.http.inject({
    method: 'POST',
    url: '/v1/sms',
    headers: { authorization: `Bearer test-token-loans-1`, 'idempotency-key': 'otp-at-rest-1' },
    payload: { to: '13900139000', category: 'otp', text: `您的验证码是${own}` },
  });
  t.equal(sms.statusCode, 202, sms.body);
  await codeOf(fc, sms.json().id);
  codes.push(own);

  // Positive control: a clear notification text is stored, and the scan finds it.
  const marker = '7305194628';
  const note = await post(ta, '/v1/sms', { to: '13700137000', category: 'notification', text: `账单编号${marker}` });
  t.equal(note.status, 202);

  // Outcomes: verified, wrong then right, locked, delivered without a verify, left active.
  t.same((await post(ta, '/v1/otp/verify', { id: sends[0]!.id, code: sends[0]!.code })).body, { valid: true });
  const wrong1 = sends[1]!.code === '0000000000' ? '1111111111' : '0000000000';
  t.same((await post(ta, '/v1/otp/verify', { id: sends[1]!.id, code: wrong1 })).body, { valid: false, reason: 'mismatch' });
  t.same((await post(ta, '/v1/otp/verify', { to: sends[1]!.to, purpose: 'pay', code: sends[1]!.code })).body, { valid: true });
  for (let i = 0; i < 5; i++) await post(ta, '/v1/otp/verify', { id: sends[2]!.id, code: wrong1 });
  t.same((await post(ta, '/v1/otp/verify', { id: sends[2]!.id, code: sends[2]!.code })).body, { valid: false, reason: 'too_many_attempts' });
  await waitFor(() => ta.app.store.messages.getMessage(sends[3]!.mid)?.status === 'submitted', 3000, 'submitted');
  t.equal(await fc.receipt(String(300000 + fc.submits.find((s) => s.messageId === sends[3]!.mid)!.segmentId), 'DELIVRD'), 0);
  t.same((await post(ta, '/v1/otp/verify', { id: sends[5]!.id, code: sends[5]!.code })).body, { valid: true }, 'the 8-digit one');

  // Everything committed before reading the files.
  await ta.app.store.commit.run(() => undefined);
  const open = dbFiles(dbPath);
  t.ok(open.some(([n]) => n === '-wal'), 'the -wal file exists while open');
  t.ok(open.some(([n]) => n === '-shm'), 'the -shm file exists while open');
  t.not(findIn(open, marker).length, 0, 'control: the clear marker is found while open');
  for (const code of codes) t.same(findIn(open, code), [], `code ${code.length} digits: nowhere while open`);

  await ta.close();
  const closed = dbFiles(dbPath);
  t.ok(closed.some(([n]) => n === 'main'));
  t.not(findIn(closed, marker).length, 0, 'control: the clear marker is found after close');
  for (const code of codes) t.same(findIn(closed, code), [], `code ${code.length} digits: nowhere after close`);
});
