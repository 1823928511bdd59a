import t from 'tap';
import { buildMultipart, decodeTransfer, normaliseContentId, parseContentType, parseHeaders, parseMultipart, sniffBoundary, MimeError, base64Lines } from '../../src/mm7/mime.js';

t.test('Content-Type parameters: case-insensitive names, quoted values with ; inside', async (t) => {
  const ct = parseContentType('multipart/related; Type="application/smil"; Start="<AAAA>"; boundary="a;b c"');
  t.equal(ct.type, 'multipart/related');
  t.same(ct.params, { type: 'application/smil', start: '<AAAA>', boundary: 'a;b c' });
  t.same(parseContentType('text/plain;charset=utf-8').params, { charset: 'utf-8' });
  t.equal(parseContentType(undefined).type, 'text/plain');
});

t.test('headers: folded lines unfold, names lower-cased, LF or CRLF', async (t) => {
  const h = parseHeaders('Content-Type: multipart/related; type="a"; \r\n\tboundary="x"\r\nContent-ID: content_15');
  t.equal(h['content-type'], 'multipart/related; type="a"; boundary="x"');
  t.equal(h['content-id'], 'content_15');
});

t.test('content ids: cid:, angle brackets and stray spaces go', async (t) => {
  t.equal(normaliseContentId('cid: content_15'), 'content_15');
  t.equal(normaliseContentId('<AAAA>'), 'AAAA');
  t.equal(normaliseContentId(' content_15 '), 'content_15');
});

t.test('build then parse: binary bytes (all 256 values) come back exact', async (t) => {
  const bin = Buffer.alloc(1024);
  for (let i = 0; i < bin.length; i++) bin[i] = (i * 7) & 0xff;
  const body = buildMultipart(
    [
      { headers: [['Content-Type', 'text/plain; charset=utf-8']], body: Buffer.from('中文\r\n', 'utf8') },
      { headers: [['Content-Type', 'image/jpeg'], ['Content-ID', '<a>']], body: bin },
      { headers: [['Content-Type', 'image/png'], ['Content-Transfer-Encoding', 'base64']], body: base64Lines(bin) },
    ],
    'b1',
  );
  const parts = parseMultipart(body, 'b1');
  t.equal(parts.length, 3);
  t.equal(parts[0]!.body.toString('utf8'), '中文\r\n', 'a trailing CRLF inside a part is kept');
  t.ok(parts[1]!.body.equals(bin));
  t.equal(parts[1]!.headers['content-id'], '<a>');
  t.ok(parts[2]!.body.equals(bin), 'base64 decoded');
  t.ok(parts[2]!.raw.toString('latin1').includes('\r\n'), 'base64 wrapped at 76');
});

t.test('LF line ends, transport padding after the boundary, a preamble', async (t) => {
  const body = Buffer.from('preamble\n--B  \nContent-Type: text/plain\n\nhello\n--B\n\nno headers\n--B--\nepilogue', 'latin1');
  const parts = parseMultipart(body, 'B');
  t.equal(parts.length, 2);
  t.equal(parts[0]!.body.toString(), 'hello');
  t.same(parts[1]!.headers, {});
  t.equal(parts[1]!.body.toString(), 'no headers');
  t.equal(sniffBoundary(body), 'B');
});

t.test('a boundary string inside a line is not a delimiter', async (t) => {
  const parts = parseMultipart(Buffer.from('--B\r\n\r\nx--B y\r\n--B--', 'latin1'), 'B');
  t.equal(parts[0]!.body.toString(), 'x--B y');
});

t.test('errors are typed: no boundary, no closing delimiter, boundary inside a part', async (t) => {
  t.throws(() => parseMultipart(Buffer.from('nothing here'), 'B'), MimeError);
  t.throws(() => parseMultipart(Buffer.from('--B\r\n\r\nx'), 'B'), { code: 'mime_malformed' });
  t.throws(() => buildMultipart([{ headers: [], body: Buffer.from('\r\n--B\r\n') }], 'B'), { code: 'mime_malformed' });
  t.throws(() => buildMultipart([{ headers: [['X', 'a\r\nInjected: 1']], body: Buffer.alloc(0) }], 'B'), { code: 'mime_malformed' });
});

t.test('quoted-printable', async (t) => {
  t.equal(decodeTransfer(Buffer.from('a=3Db=\r\nc'), 'quoted-printable').toString(), 'a=bc');
});
