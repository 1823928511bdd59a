/**
 * Issue 18, point 1: the provider signature. Pinned twice: against vectors computed once
 * with openssl and committed here, and against openssl run now over the exact bytes a
 * client put on the wire (captured by a plain node:http server on loopback).
 */
import t from 'tap';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { signRequest, stringToSign, signatureMatches } from '../../src/callerid/signing.js';
import { SignedClient } from '../../src/callerid/http-client.js';
import { hasOpenssl } from '../webhooks/fixtures/openssl.js';
import { opensslProviderSignature } from './fixtures/openssl.js';

const SECRET = 'test-secret-0123';

t.test('committed vectors (computed with openssl dgst -sha256 -hmac)', async (t) => {
  // printf '%s' '{"numbers":["+8657188880000"],"display_name":"信鸽金融"}' > body; BH=$(openssl dgst -sha256 -r body)
  // printf 'POST\n/callerid/v1/cards\n1767225600\nn0nce-0001\n%s' $BH | openssl dgst -sha256 -hmac test-secret-0123
  const body = Buffer.from('{"numbers":["+8657188880000"],"display_name":"信鸽金融"}', 'utf8');
  const post = { method: 'POST', path: '/callerid/v1/cards', timestamp: '1767225600', nonce: 'n0nce-0001', body };
  t.equal(
    stringToSign(post),
    'POST\n/callerid/v1/cards\n1767225600\nn0nce-0001\n606fb69eb420c87da68cd23185b2034874ff7865677592f8ac15273741ddcc06',
  );
  t.equal(signRequest(SECRET, post), '39090941f5a8f188ac7380ff3fb46e59935f255e3f54e59787f0a87d0d4b1986');
  // An empty body (GET) hashes to sha256 of nothing; the query string is part of PATH.
  const get = { method: 'GET', path: '/callerid/v1/cards/card_1?x=1', timestamp: '1767225600', nonce: 'n0nce-0002', body: Buffer.alloc(0) };
  t.equal(signRequest(SECRET, get), '6874373b229614190fad6d3081f6d2ca6b43ac2b22c5e1f4af307d1568a7c05e');
  t.ok(signatureMatches(SECRET, get, '6874373B229614190FAD6D3081F6D2CA6B43AC2B22C5E1F4AF307D1568A7C05E'), 'hex case-insensitive');
  t.notOk(signatureMatches('other', get, '6874373b229614190fad6d3081f6d2ca6b43ac2b22c5e1f4af307d1568a7c05e'));
  t.notOk(signatureMatches(SECRET, { ...get, path: '/callerid/v1/cards/card_1' }, '6874373b229614190fad6d3081f6d2ca6b43ac2b22c5e1f4af307d1568a7c05e'), 'query string signed');
  t.notOk(signatureMatches(SECRET, get, 'short'));
});

t.test('the client signs the exact bytes and target it sends (checked with openssl over what was received)', { skip: !hasOpenssl() && 'openssl not installed' }, async (t) => {
  const got: Array<{ method: string; url: string; headers: Record<string, string | string[] | undefined>; body: Buffer }> = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      got.push({ method: req.method!, url: req.url!, headers: req.headers, body: Buffer.concat(chunks) });
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"card_id":"c1","status":"pending_review"}');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => new Promise((r) => server.close(r)));
  const port = (server.address() as AddressInfo).port;
  const client = new SignedClient({
    baseUrl: `http://127.0.0.1:${port}/callerid`,
    appKey: 'app-1',
    appSecret: SECRET,
    timeoutMs: 2000,
    maxAttempts: 1,
    backoff: { initialMs: 1, maxMs: 1 },
    now: () => 1767225600_000,
    nonce: () => 'fixed-nonce',
  });
  t.teardown(() => client.close());
  await client.send({ op: 'create', method: 'POST', path: '/v1/cards', body: { display_name: '信鸽金融', numbers: ['+8657188880000'], n: 1.5 }, requestId: 'req-1' });
  await client.send({ op: 'get', method: 'GET', path: '/v1/cards/c%201?expand=1', requestId: 'req-2' });
  t.equal(got.length, 2);
  const [post, get] = got;
  t.equal(post!.url, '/callerid/v1/cards', 'base path included');
  t.equal(post!.headers['x-app-key'], 'app-1');
  t.equal(post!.headers['x-request-id'], 'req-1');
  t.equal(post!.headers['x-timestamp'], '1767225600');
  t.equal(post!.headers['x-nonce'], 'fixed-nonce');
  t.equal(post!.headers['content-type'], 'application/json');
  t.equal(post!.body.toString('utf8'), '{"display_name":"信鸽金融","numbers":["+8657188880000"],"n":1.5}');
  t.equal(post!.headers['x-signature'], opensslProviderSignature(SECRET, 'POST', post!.url, '1767225600', 'fixed-nonce', post!.body));
  t.equal(get!.url, '/callerid/v1/cards/c%201?expand=1', 'query string as sent');
  t.equal(get!.body.length, 0, 'GET sends no body');
  t.equal(get!.headers['x-signature'], opensslProviderSignature(SECRET, 'GET', get!.url, '1767225600', 'fixed-nonce', Buffer.alloc(0)));
});
