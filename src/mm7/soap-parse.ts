/**
 * MM7 SOAP parsing on fast-xml-parser (pure). Indifferent to namespace prefixes (`env:`,
 * `soap:`, `SOAP-ENV:`, `mm7:`, `mm7p6a0:` or a default namespace) and to the release in
 * the namespace URI: elements are matched by local name. Values are kept as strings
 * (a MessageID `041502073667` keeps its leading zero) and trimmed (TransactionIDs arrive
 * wrapped in whitespace).
 */
import { XMLParser } from 'fast-xml-parser';
import { XingeError } from '../domain/errors.js';

export class Mm7ParseError extends XingeError {
  constructor(message: string) {
    super('mm7_malformed', message);
    this.name = 'Mm7ParseError';
  }
}

export interface Mm7Common {
  transactionId: string | undefined;
  version: string | undefined;
  /** The MM7 namespace URI as found (release varies by MMSC). */
  namespace: string | undefined;
}

export type Mm7Message =
  | (Mm7Common & { kind: 'SubmitReq'; recipients: string[]; sender: string | undefined; subject: string | undefined; vaspId: string | undefined; vasId: string | undefined; serviceCode: string | undefined; linkedId: string | undefined; deliveryReport: boolean; contentHref: string | undefined })
  | (Mm7Common & { kind: 'SubmitRsp'; statusCode: number; statusText: string | undefined; messageId: string | undefined })
  | (Mm7Common & { kind: 'DeliveryReportReq'; messageId: string; recipient: string | undefined; sender: string | undefined; timeStamp: string | undefined; mmStatus: string; statusText: string | undefined })
  | (Mm7Common & { kind: 'ReadReplyReq'; messageId: string; recipient: string | undefined; sender: string | undefined; timeStamp: string | undefined; mmStatus: string; statusText: string | undefined })
  | (Mm7Common & { kind: 'DeliverReq'; sender: string | undefined; recipients: string[]; linkedId: string | undefined; timeStamp: string | undefined; priority: string | undefined; subject: string | undefined; contentHref: string | undefined; relayServerId: string | undefined })
  | (Mm7Common & { kind: 'DeliverRsp' | 'DeliveryReportRsp' | 'ReadReplyRsp'; statusCode: number; statusText: string | undefined })
  | (Mm7Common & { kind: 'RSErrorRsp' | 'VASPErrorRsp'; statusCode: number; statusText: string | undefined })
  | (Mm7Common & { kind: 'Fault'; faultCode: string; faultString: string; statusCode: number | undefined; statusText: string | undefined });

export type Mm7Kind = Mm7Message['kind'];

const parser = new XMLParser({
  removeNSPrefix: true,
  ignoreAttributes: false,
  attributeNamePrefix: '@_',
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: true,
  processEntities: true,
  // No DOCTYPE entity expansion from a peer.
  ignoreDeclaration: true,
});

type Node = Record<string, unknown>;

const isNode = (v: unknown): v is Node => v !== null && typeof v === 'object' && !Array.isArray(v);

/** A child by local name, case-sensitive as the schema is; the first when repeated. */
function child(n: unknown, name: string): unknown {
  if (!isNode(n)) return undefined;
  const v = n[name];
  return Array.isArray(v) ? v[0] : v;
}

function children(n: unknown, name: string): unknown[] {
  if (!isNode(n)) return [];
  const v = n[name];
  return v === undefined ? [] : Array.isArray(v) ? v : [v];
}

/** The text of an element (a bare string, or `#text` beside attributes). */
function text(v: unknown): string | undefined {
  if (typeof v === 'string') return v.trim();
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (isNode(v) && v['#text'] !== undefined) return String(v['#text']).trim();
  if (isNode(v) && Object.keys(v).every((k) => k.startsWith('@_'))) return '';
  return undefined;
}

const str = (n: unknown, name: string) => text(child(n, name));

/** An address element's value: Number, ShortCode or RFC2822Address; `/TYPE=PLMN` dropped. */
function address(n: unknown): string | undefined {
  if (n === undefined) return undefined;
  for (const k of ['Number', 'ShortCode', 'RFC2822Address']) {
    const v = str(n, k);
    if (v !== undefined && v !== '') return v.replace(/\/TYPE=PLMN$/i, '');
  }
  const t = text(n);
  return t === '' ? undefined : t;
}

function statusOf(n: unknown): { statusCode: number; statusText: string | undefined } {
  const s = child(n, 'Status');
  const code = str(s, 'StatusCode') ?? str(n, 'StatusCode');
  const statusCode = code !== undefined && /^\d+$/.test(code) ? Number(code) : NaN;
  if (Number.isNaN(statusCode)) throw new Mm7ParseError('Status/StatusCode missing or not a number');
  return { statusCode, statusText: str(s, 'StatusText') ?? str(n, 'StatusText') };
}

function required(v: string | undefined, what: string): string {
  if (v === undefined || v === '') throw new Mm7ParseError(`${what} missing`);
  return v;
}

function hrefOf(n: unknown): string | undefined {
  const c = child(n, 'Content');
  if (!isNode(c)) return undefined;
  const h = c['@_href'];
  return typeof h === 'string' ? h.trim() : undefined;
}

const NS_RE = /23\.140\/schema\/(REL-[\w.-]+)|xmlns(?::\w+)?="([^"]*MM7[^"]*)"/;

/** Parse one MM7 SOAP envelope (the XML text of the SOAP part). */
export function parseMm7Xml(xml: string): Mm7Message {
  let doc: unknown;
  try {
    doc = parser.parse(xml, true);
  } catch (err) {
    throw new Mm7ParseError(`not well-formed XML: ${(err as Error).message.split('\n')[0]}`);
  }
  const env = child(doc, 'Envelope');
  if (!isNode(env)) throw new Mm7ParseError('no SOAP Envelope');
  const body = child(env, 'Body');
  if (!isNode(body)) throw new Mm7ParseError('no SOAP Body');
  const nsMatch = NS_RE.exec(xml);
  const common: Mm7Common = {
    transactionId: text(child(child(env, 'Header'), 'TransactionID')),
    version: undefined,
    namespace: nsMatch === null ? undefined : nsMatch[1] !== undefined ? `http://www.3gpp.org/ftp/Specs/archive/23_series/23.140/schema/${nsMatch[1]}` : nsMatch[2],
  };
  const kind = Object.keys(body).find((k) => !k.startsWith('@_') && k !== '#text');
  if (kind === undefined) throw new Mm7ParseError('empty SOAP Body');
  const n = child(body, kind);
  common.version = str(n, 'MM7Version');
  switch (kind) {
    case 'Fault': {
      const detail = child(n, 'detail') ?? child(n, 'Detail');
      const rs = child(detail, 'RSErrorRsp') ?? child(detail, 'VASPErrorRsp');
      let st: { statusCode: number | undefined; statusText: string | undefined } = { statusCode: undefined, statusText: undefined };
      if (rs !== undefined) {
        st = statusOf(rs);
        common.version = str(rs, 'MM7Version');
      }
      return { ...common, kind: 'Fault', faultCode: str(n, 'faultcode') ?? '', faultString: str(n, 'faultstring') ?? '', ...st };
    }
    case 'SubmitRsp':
      return { ...common, kind, ...statusOf(n), messageId: str(n, 'MessageID') };
    case 'DeliverRsp':
    case 'DeliveryReportRsp':
    case 'ReadReplyRsp':
    case 'RSErrorRsp':
    case 'VASPErrorRsp':
      return { ...common, kind, ...statusOf(n) };
    case 'DeliveryReportReq':
    case 'ReadReplyReq':
      return {
        ...common,
        kind,
        messageId: required(str(n, 'MessageID'), `${kind}/MessageID`),
        recipient: address(child(n, 'Recipient')),
        sender: address(child(n, 'Sender')),
        timeStamp: str(n, 'TimeStamp'),
        mmStatus: required(str(n, 'MMStatus'), `${kind}/MMStatus`),
        statusText: str(n, 'StatusText'),
      };
    case 'DeliverReq':
      return {
        ...common,
        kind,
        sender: address(child(n, 'Sender')),
        recipients: recipientsOf(n),
        linkedId: str(n, 'LinkedID'),
        timeStamp: str(n, 'TimeStamp'),
        priority: str(n, 'Priority'),
        subject: str(n, 'Subject'),
        contentHref: hrefOf(n),
        relayServerId: str(n, 'MMSRelayServerID'),
      };
    case 'SubmitReq': {
      const sid = child(n, 'SenderIdentification');
      return {
        ...common,
        kind,
        recipients: recipientsOf(n),
        sender: address(child(sid, 'SenderAddress')),
        vaspId: str(sid, 'VASPID'),
        vasId: str(sid, 'VASID'),
        subject: str(n, 'Subject'),
        serviceCode: str(n, 'ServiceCode'),
        linkedId: str(n, 'LinkedID'),
        deliveryReport: str(n, 'DeliveryReport') === 'true',
        contentHref: hrefOf(n),
      };
    }
    default:
      throw new Mm7ParseError(`unsupported MM7 element ${kind}`);
  }
}

function recipientsOf(n: unknown): string[] {
  const r = child(n, 'Recipients');
  const out: string[] = [];
  for (const k of ['To', 'Cc', 'Bcc']) {
    for (const group of children(r, k)) {
      for (const a of ['Number', 'ShortCode', 'RFC2822Address']) {
        for (const v of children(group, a)) {
          const t = text(v);
          if (t !== undefined && t !== '') out.push(t.replace(/\/TYPE=PLMN$/i, ''));
        }
      }
    }
  }
  return out;
}
