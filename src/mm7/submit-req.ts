/**
 * The whole MM7 SubmitReq as sent over HTTP (pure): the SOAP part inside
 * `multipart/related; type="text/xml"; start=…`, then the content as a nested
 * multipart/related with a generated SMIL (or multipart/mixed, per MMSC) whose parts are
 * referenced by `cid:`. Boundaries derive from the transaction id, so the same input gives
 * the same bytes (golden files pin them).
 */
import { base64Lines, buildMultipart, encodeWord, quoteParam, type BuildPart } from './mime.js';
import { encodeText, type Mm7Charset } from './charset.js';
import { buildSmil, type SmilItem } from './smil.js';
import { envelope, submitReqNode, type Mm7Dialect } from './soap-build.js';

export const MMS_CONTENT_TYPES = ['text/plain', 'image/jpeg', 'image/png', 'image/gif', 'application/pdf'] as const;
export type MmsContentType = (typeof MMS_CONTENT_TYPES)[number];

export type MmsPart =
  | { contentType: 'text/plain'; text: string; filename?: string | undefined }
  | { contentType: Exclude<MmsContentType, 'text/plain'>; data: Buffer; filename?: string | undefined };

/** What one MMSC expects beyond the XML dialect. */
export interface Mm7Profile extends Mm7Dialect {
  vaspId: string;
  vasId: string;
  serviceCode?: string | undefined;
  /** The carrier's SP number. */
  sender: string;
  senderAddressAs: 'short_code' | 'number';
  soapCharset: Mm7Charset;
  textCharset: Mm7Charset;
  /** related: multipart/related with SMIL; mixed: multipart/mixed without. */
  content: 'related' | 'mixed';
  /** How binary parts travel: as 8-bit bytes, or base64. */
  transferEncoding: 'binary' | 'base64';
  deliveryReport: boolean;
  allowAdaptations: boolean;
}

export interface SubmitMessage {
  transactionId: string;
  recipients: readonly string[];
  subject?: string | undefined;
  linkedId?: string | undefined;
  timeStamp: number;
  expiryDate?: number | undefined;
  priority?: 'Normal' | 'High' | 'Low';
  parts: readonly MmsPart[];
}

export interface BuiltRequest {
  /** The HTTP Content-Type header. */
  contentType: string;
  body: Buffer;
  soapXml: string;
}

const EXT: Record<MmsContentType, string> = {
  'text/plain': 'txt',
  'image/jpeg': 'jpg',
  'image/png': 'png',
  'image/gif': 'gif',
  'application/pdf': 'pdf',
};

const SOAP_ID = 'mm7-soap';
const CONTENT_ID = 'mm7-content';
const SMIL_ID = 'smil';

/** A boundary from the transaction id that occurs in none of the parts. */
function boundaryFor(kind: string, txid: string, parts: readonly Buffer[]): string {
  const base = `=_xinge_${kind}_${txid.replace(/[^A-Za-z0-9]/g, '').slice(0, 40)}`;
  for (let n = 0; ; n++) {
    const b = n === 0 ? base : `${base}_${n}`;
    const delim = Buffer.from(`--${b}`, 'latin1');
    if (!parts.some((p) => p.includes(delim))) return b;
  }
}

function contentParts(profile: Mm7Profile, parts: readonly MmsPart[]): { built: BuildPart[]; smil: SmilItem[] } {
  const built: BuildPart[] = [];
  const smil: SmilItem[] = [];
  parts.forEach((part, i) => {
    const ext = EXT[part.contentType];
    const cid = `p${i + 1}.${ext}`;
    const location = part.filename ?? cid;
    const isText = part.contentType === 'text/plain';
    const data = isText ? encodeText(part.text, profile.textCharset) : part.data;
    const base64 = !isText && profile.transferEncoding === 'base64';
    const ctype = isText
      ? `text/plain; charset=${profile.textCharset}`
      : `${part.contentType}; name=${quoteParam(encodeWord(location))}`;
    built.push({
      headers: [
        ['Content-Type', ctype],
        ['Content-ID', `<${cid}>`],
        ['Content-Location', encodeWord(location)],
        ['Content-Transfer-Encoding', base64 ? 'base64' : isText ? '8bit' : 'binary'],
      ],
      body: base64 ? base64Lines(data) : data,
    });
    smil.push({ kind: isText ? 'text' : part.contentType.startsWith('image/') ? 'image' : 'other', contentId: cid });
  });
  return { built, smil };
}

/** The HTTP body of a SubmitReq and its Content-Type. */
export function buildSubmitReq(profile: Mm7Profile, msg: SubmitMessage): BuiltRequest {
  const { built, smil } = contentParts(profile, msg.parts);
  let inner: BuildPart[] = built;
  let innerType: string;
  if (profile.content === 'related') {
    const smilPart: BuildPart = {
      headers: [
        ['Content-Type', 'application/smil; charset=utf-8; name=main.smil'],
        ['Content-ID', `<${SMIL_ID}>`],
        ['Content-Location', 'main.smil'],
      ],
      body: Buffer.from(buildSmil(smil), 'utf8'),
    };
    inner = [smilPart, ...built];
  }
  const innerBoundary = boundaryFor('content', msg.transactionId, inner.map((p) => p.body));
  if (profile.content === 'related') {
    innerType = `multipart/related; boundary="${innerBoundary}"; type="application/smil"; start="<${SMIL_ID}>"`;
  } else innerType = `multipart/mixed; boundary="${innerBoundary}"`;
  const contentBody = buildMultipart(inner, innerBoundary);

  const soapXml = envelope(
    profile,
    msg.transactionId,
    submitReqNode(profile, {
      transactionId: msg.transactionId,
      vaspId: profile.vaspId,
      vasId: profile.vasId,
      senderAddress: profile.sender,
      senderAddressAs: profile.senderAddressAs,
      recipients: msg.recipients,
      serviceCode: profile.serviceCode,
      linkedId: msg.linkedId,
      timeStamp: msg.timeStamp,
      expiryDate: msg.expiryDate,
      deliveryReport: profile.deliveryReport,
      priority: msg.priority ?? 'Normal',
      subject: msg.subject,
      contentId: CONTENT_ID,
      allowAdaptations: profile.allowAdaptations,
    }),
    profile.soapCharset,
  );
  const soapPart: BuildPart = {
    headers: [
      ['Content-Type', `text/xml; charset=${profile.soapCharset}`],
      ['Content-ID', `<${SOAP_ID}>`],
    ],
    body: encodeText(soapXml, profile.soapCharset),
  };
  const contentPart: BuildPart = {
    headers: [
      ['Content-Type', innerType],
      ['Content-ID', `<${CONTENT_ID}>`],
    ],
    body: contentBody,
  };
  const outerBoundary = boundaryFor('soap', msg.transactionId, [soapPart.body, contentBody]);
  return {
    contentType: `multipart/related; boundary="${outerBoundary}"; type="text/xml"; start="<${SOAP_ID}>"`,
    body: buildMultipart([soapPart, contentPart], outerBoundary),
    soapXml,
  };
}
