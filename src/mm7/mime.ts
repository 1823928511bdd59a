/**
 * A small MIME multipart codec (RFC 2045/2046), pure and Buffer-based so binary parts
 * (JPEG sent as 8-bit) come out byte-exact. Tolerant the way MMSCs need: LF or CRLF line
 * ends, transport padding after a boundary, folded headers, case-insensitive parameter
 * names (`Type=`, `Start=`, `Charset=`), quoted or bare values, a preamble.
 */
import { XingeError } from '../domain/errors.js';

export class MimeError extends XingeError {
  constructor(message: string) {
    super('mime_malformed', message);
    this.name = 'MimeError';
  }
}

/** Header names lower-cased; a repeated header keeps its first value. */
export type MimeHeaders = Record<string, string>;

export interface MimePart {
  headers: MimeHeaders;
  /** The bytes between the header block and the next delimiter, as sent. */
  raw: Buffer;
  /** `raw` after Content-Transfer-Encoding (base64, quoted-printable) is undone. */
  body: Buffer;
}

export interface ContentType {
  /** `type/subtype`, lower case. */
  type: string;
  /** Parameter names lower case, values unquoted. */
  params: Record<string, string>;
}

const CRLF = Buffer.from('\r\n');

/** `multipart/related; type="text/xml"; start="<a>"` → { type, params }. */
export function parseContentType(value: string | undefined): ContentType {
  if (value === undefined || value.trim() === '') return { type: 'text/plain', params: {} };
  const pieces = splitParams(value);
  const type = (pieces.shift() ?? '').trim().toLowerCase();
  const params: Record<string, string> = {};
  for (const p of pieces) {
    const eq = p.indexOf('=');
    if (eq <= 0) continue;
    const name = p.slice(0, eq).trim().toLowerCase();
    let v = p.slice(eq + 1).trim();
    if (v.startsWith('"') && v.endsWith('"') && v.length >= 2) v = v.slice(1, -1).replace(/\\(.)/g, '$1');
    if (!(name in params)) params[name] = v;
  }
  return { type, params };
}

/** Split on `;` outside double quotes. */
function splitParams(value: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < value.length; i++) {
    const ch = value[i]!;
    if (ch === '\\' && quoted && i + 1 < value.length) {
      cur += ch + value[++i]!;
      continue;
    }
    if (ch === '"') quoted = !quoted;
    if (ch === ';' && !quoted) {
      out.push(cur);
      cur = '';
    } else cur += ch;
  }
  out.push(cur);
  return out.filter((s, i) => i === 0 || s.trim() !== '');
}

/** A Content-ID or cid: reference without `cid:`, angle brackets or stray spaces. */
export function normaliseContentId(v: string): string {
  let s = v.trim();
  if (/^cid:/i.test(s)) s = s.slice(4).trim();
  if (s.startsWith('<') && s.endsWith('>')) s = s.slice(1, -1).trim();
  return s;
}

/** Parse a header block (no trailing blank line needed). Folded lines are unfolded. */
export function parseHeaders(block: string): MimeHeaders {
  const headers: MimeHeaders = {};
  const lines = block.split(/\r?\n/);
  const joined: string[] = [];
  for (const line of lines) {
    if (/^[ \t]/.test(line) && joined.length > 0) joined[joined.length - 1] = joined[joined.length - 1]!.trimEnd() + ' ' + line.trim();
    else if (line.length > 0) joined.push(line);
  }
  for (const line of joined) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    if (!(name in headers)) headers[name] = line.slice(colon + 1).trim();
  }
  return headers;
}

/** Where the header block of `buf` ends: index of the blank line and the body start. */
function headerEnd(buf: Buffer): { end: number; bodyStart: number } | undefined {
  // A part that starts with a blank line has no headers.
  if (buf[0] === 0x0a) return { end: 0, bodyStart: 1 };
  if (buf[0] === 0x0d && buf[1] === 0x0a) return { end: 0, bodyStart: 2 };
  for (let i = 0; i < buf.length - 1; i++) {
    if (buf[i] !== 0x0a) continue;
    if (buf[i + 1] === 0x0a) return { end: i, bodyStart: i + 2 };
    if (buf[i + 1] === 0x0d && buf[i + 2] === 0x0a) return { end: i, bodyStart: i + 3 };
  }
  return undefined;
}

/** Split a part (headers, blank line, body) into its headers and raw body. */
export function parseEntity(buf: Buffer): { headers: MimeHeaders; raw: Buffer } {
  const h = headerEnd(buf);
  if (h === undefined) return { headers: parseHeaders(buf.toString('latin1')), raw: Buffer.alloc(0) };
  return { headers: parseHeaders(buf.subarray(0, h.end).toString('latin1')), raw: buf.subarray(h.bodyStart) };
}

/** Undo Content-Transfer-Encoding. 7bit, 8bit, binary and unknown values pass through. */
export function decodeTransfer(raw: Buffer, cte: string | undefined): Buffer {
  const enc = (cte ?? '').trim().toLowerCase();
  if (enc === 'base64') return Buffer.from(raw.toString('latin1').replace(/[^A-Za-z0-9+/=]/g, ''), 'base64');
  if (enc === 'quoted-printable') {
    const s = raw.toString('latin1').replace(/=\r?\n/g, '');
    const out: number[] = [];
    for (let i = 0; i < s.length; i++) {
      if (s[i] === '=' && /^[0-9A-Fa-f]{2}$/.test(s.slice(i + 1, i + 3))) {
        out.push(parseInt(s.slice(i + 1, i + 3), 16));
        i += 2;
      } else out.push(s.charCodeAt(i));
    }
    return Buffer.from(out);
  }
  return raw;
}

/** The boundary of a body whose Content-Type was not given: its first `--…` line. */
export function sniffBoundary(body: Buffer): string | undefined {
  const text = body.subarray(0, 2048).toString('latin1');
  const m = /(?:^|\n)--([^\r\n]+?)[ \t]*\r?\n/.exec(text);
  return m?.[1];
}

/**
 * The parts of a multipart body. A delimiter is `--boundary` at the start of the body or of
 * a line; the line ending before it belongs to the delimiter, not to the part.
 */
export function parseMultipart(body: Buffer, boundary: string): MimePart[] {
  if (boundary.length === 0 || boundary.length > 200) throw new MimeError('multipart boundary missing or too long');
  const delim = Buffer.from(`--${boundary}`, 'latin1');
  const starts: Array<{ at: number; lineStart: number; closing: boolean }> = [];
  let from = 0;
  for (;;) {
    const at = body.indexOf(delim, from);
    if (at < 0) break;
    from = at + delim.length;
    const atLineStart = at === 0 || body[at - 1] === 0x0a;
    if (!atLineStart) continue;
    const lineStart = at >= 2 && body[at - 2] === 0x0d ? at - 2 : at > 0 ? at - 1 : at;
    const closing = body[at + delim.length] === 0x2d && body[at + delim.length + 1] === 0x2d;
    // After the boundary only transport padding, then a line end (or, closing, anything).
    let p = at + delim.length;
    if (!closing) {
      while (body[p] === 0x20 || body[p] === 0x09) p++;
      if (p < body.length && body[p] !== 0x0d && body[p] !== 0x0a) continue;
    }
    starts.push({ at, lineStart, closing });
    if (closing) break;
  }
  if (starts.length === 0) throw new MimeError('no multipart boundary found in body');
  const parts: MimePart[] = [];
  for (let i = 0; i < starts.length; i++) {
    const s = starts[i]!;
    if (s.closing) break;
    const next = starts[i + 1];
    if (next === undefined) throw new MimeError('multipart body has no closing boundary');
    let p = s.at + delim.length;
    while (body[p] === 0x20 || body[p] === 0x09) p++;
    if (body[p] === 0x0d) p++;
    if (body[p] === 0x0a) p++;
    const entity = body.subarray(p, Math.max(p, next.lineStart));
    const { headers, raw } = parseEntity(entity);
    parts.push({ headers, raw, body: decodeTransfer(raw, headers['content-transfer-encoding']) });
  }
  return parts;
}

export interface BuildPart {
  /** Header name and value pairs, in order. */
  headers: Array<[string, string]>;
  body: Buffer;
}

/**
 * A multipart body with CRLF line ends. The boundary is the caller's (deterministic for
 * golden files); it must not occur in any part, which is checked.
 */
export function buildMultipart(parts: readonly BuildPart[], boundary: string): Buffer {
  if (!/^[0-9A-Za-z'()+_,\-./:=? ]{1,69}[0-9A-Za-z'()+_,\-./:=?]$/.test(boundary)) {
    throw new MimeError(`invalid multipart boundary ${JSON.stringify(boundary)}`);
  }
  const delim = Buffer.from(`--${boundary}`, 'latin1');
  const chunks: Buffer[] = [];
  for (const p of parts) {
    if (p.body.includes(delim)) throw new MimeError('multipart boundary occurs inside a part');
    chunks.push(delim, CRLF);
    for (const [name, value] of p.headers) {
      if (/[\r\n]/.test(name) || /[\r\n]/.test(value)) throw new MimeError(`header ${name} contains a line break`);
      chunks.push(Buffer.from(`${name}: ${value}\r\n`, 'latin1'));
    }
    chunks.push(CRLF, p.body, CRLF);
  }
  chunks.push(delim, Buffer.from('--\r\n', 'latin1'));
  return Buffer.concat(chunks);
}

/** A header parameter value, quoted when it needs to be. */
export function quoteParam(v: string): string {
  return /^[A-Za-z0-9!#$%&'*+\-.^_`|~]+$/.test(v) ? v : `"${v.replace(/(["\\])/g, '\\$1')}"`;
}

/** base64 wrapped at 76 characters (RFC 2045). */
export function base64Lines(data: Buffer): Buffer {
  const s = data.toString('base64');
  const lines: string[] = [];
  for (let i = 0; i < s.length; i += 76) lines.push(s.slice(i, i + 76));
  return Buffer.from(lines.join('\r\n'), 'latin1');
}

/** A header value safe for a latin1 header line: non-ASCII text as an RFC 2047 encoded word. */
export function encodeWord(v: string): string {
  return /^[\x20-\x7e]*$/.test(v) ? v : `=?UTF-8?B?${Buffer.from(v, 'utf8').toString('base64')}?=`;
}
