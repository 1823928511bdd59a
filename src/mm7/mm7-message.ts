/**
 * An MM7 HTTP body as received (pure): plain text/xml, or multipart/related with the SOAP
 * part (by `start`, else the first XML part) and the content, nested multiparts flattened
 * into a list of parts with their bytes exact.
 */
import { decodeText } from './charset.js';
import { MimeError, normaliseContentId, parseContentType, parseMultipart, sniffBoundary, type MimePart } from './mime.js';
import { Mm7ParseError, parseMm7Xml, type Mm7Message } from './soap-parse.js';

export interface ContentPart {
  contentType: string;
  charset: string | undefined;
  contentId: string | undefined;
  location: string | undefined;
  filename: string | undefined;
  data: Buffer;
}

export interface ParsedMm7 {
  message: Mm7Message;
  soapXml: string;
  parts: ContentPart[];
}

function flatten(p: MimePart, out: ContentPart[], depth: number): void {
  const ct = parseContentType(p.headers['content-type']);
  if (ct.type.startsWith('multipart/') && depth < 4) {
    const boundary = ct.params.boundary ?? sniffBoundary(p.body);
    if (boundary === undefined) throw new MimeError('nested multipart without boundary');
    for (const q of parseMultipart(p.body, boundary)) flatten(q, out, depth + 1);
    return;
  }
  const cid = p.headers['content-id'];
  const disposition = parseContentType(p.headers['content-disposition']);
  out.push({
    contentType: ct.type,
    charset: ct.params.charset,
    contentId: cid === undefined ? undefined : normaliseContentId(cid),
    location: p.headers['content-location'],
    filename: ct.params.name ?? disposition.params.filename,
    data: p.body,
  });
}

/** Parse an MM7 request or response body. Throws Mm7ParseError or MimeError (both have a code). */
export function parseMm7Http(contentType: string | undefined, body: Buffer): ParsedMm7 {
  const ct = parseContentType(contentType);
  const looksMultipart = ct.type.startsWith('multipart/') || (contentType === undefined && /^\s*--/.test(body.subarray(0, 64).toString('latin1')));
  if (!looksMultipart) {
    const soapXml = decodeText(body, ct.params.charset);
    return { message: parseMm7Xml(soapXml), soapXml, parts: [] };
  }
  const boundary = ct.params.boundary ?? sniffBoundary(body);
  if (boundary === undefined) throw new MimeError('multipart body without boundary');
  const top = parseMultipart(body, boundary);
  const start = ct.params.start === undefined ? undefined : normaliseContentId(ct.params.start);
  let soapIndex = start === undefined ? -1 : top.findIndex((p) => p.headers['content-id'] !== undefined && normaliseContentId(p.headers['content-id']) === start);
  if (soapIndex < 0) soapIndex = top.findIndex((p) => /xml/i.test(parseContentType(p.headers['content-type']).type));
  if (soapIndex < 0) throw new Mm7ParseError('no SOAP part in multipart body');
  const soap = top[soapIndex]!;
  const soapXml = decodeText(soap.body, parseContentType(soap.headers['content-type']).params.charset);
  const parts: ContentPart[] = [];
  top.forEach((p, i) => {
    if (i !== soapIndex) flatten(p, parts, 0);
  });
  return { message: parseMm7Xml(soapXml), soapXml, parts };
}

/** A part's text in its declared charset (UTF-8 when none). */
export function partText(p: ContentPart): string {
  return decodeText(p.data, p.charset);
}
