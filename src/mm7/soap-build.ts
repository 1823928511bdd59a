/**
 * MM7 SOAP 1.1 envelopes (pure, no I/O): SubmitReq in the element order of the schema's
 * SubmitReqType, the *Rsp answers the receiver gives, the DeliveryReportReq the simulator
 * sends, and SOAP Faults carrying an RSErrorRsp. Namespace, MM7Version and whether MM7
 * elements carry the `mm7:` prefix come from the MMSC's profile: none is hard-coded.
 */
export const SOAP_ENV_NS = 'http://schemas.xmlsoap.org/soap/envelope/';
export const DEFAULT_MM7_NAMESPACE = 'http://www.3gpp.org/ftp/Specs/archive/23_series/23.140/schema/REL-6-MM7-1-4';
export const DEFAULT_MM7_VERSION = '6.8.0';

/** How one MMSC wants its XML. */
export interface Mm7Dialect {
  namespace: string;
  version: string;
  /** true: `<mm7:SubmitReq xmlns:mm7=…>`; false: `<SubmitReq xmlns=…>` (some MMSCs reject prefixes). */
  namespacePrefix: boolean;
}

export function xmlEscape(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** `2026-12-06T12:40:55+08:00`: China Standard Time, the offset Chinese MMSCs expect. */
export function mm7Time(ms: number): string {
  const d = new Date(ms + 8 * 3600_000);
  return `${d.toISOString().slice(0, 19)}+08:00`;
}

/** An element tree node: name, text or children, attributes. Undefined children are left out. */
export type XmlNode = { name: string; text?: string; children?: Array<XmlNode | undefined>; attrs?: Record<string, string> };

function render(n: XmlNode, p: string, indent: string, out: string[]): void {
  const attrs = Object.entries(n.attrs ?? {})
    .map(([k, v]) => ` ${k}="${xmlEscape(v)}"`)
    .join('');
  const kids = (n.children ?? []).filter((c): c is XmlNode => c !== undefined);
  if (kids.length > 0) {
    out.push(`${indent}<${p}${n.name}${attrs}>`);
    for (const c of kids) render(c, p, indent + '  ', out);
    out.push(`${indent}</${p}${n.name}>`);
  } else if (n.text !== undefined) out.push(`${indent}<${p}${n.name}${attrs}>${xmlEscape(n.text)}</${p}${n.name}>`);
  else out.push(`${indent}<${p}${n.name}${attrs}/>`);
}

export const leaf = (name: string, text: string | undefined, attrs?: Record<string, string>): XmlNode | undefined =>
  text === undefined ? undefined : { name, text, ...(attrs ? { attrs } : {}) };

/**
 * The envelope: TransactionID in the header (mustUnderstand), one MM7 element in the body.
 * `encoding` names the charset the caller will encode the string in.
 */
export function envelope(d: Mm7Dialect, transactionId: string | undefined, body: XmlNode, encoding = 'utf-8'): string {
  const p = d.namespacePrefix ? 'mm7:' : '';
  const nsAttr = d.namespacePrefix ? 'xmlns:mm7' : 'xmlns';
  const out = [`<?xml version="1.0" encoding="${encoding.toUpperCase()}"?>`, `<env:Envelope xmlns:env="${SOAP_ENV_NS}">`];
  if (transactionId !== undefined) {
    out.push('  <env:Header>');
    out.push(`    <${p}TransactionID ${nsAttr}="${xmlEscape(d.namespace)}" env:mustUnderstand="1">${xmlEscape(transactionId)}</${p}TransactionID>`);
    out.push('  </env:Header>');
  }
  out.push('  <env:Body>');
  render({ ...body, attrs: { [nsAttr]: d.namespace, ...(body.attrs ?? {}) } }, p, '    ', out);
  out.push('  </env:Body>', '</env:Envelope>');
  return out.join('\r\n') + '\r\n';
}

export interface SubmitReqFields {
  transactionId: string;
  vaspId: string;
  vasId: string;
  /** The carrier's SP number (Chinese VASP interfaces expect it here). */
  senderAddress: string;
  senderAddressAs: 'short_code' | 'number';
  /** As the MMSC wants them written (e.g. 8613800138000). */
  recipients: readonly string[];
  serviceCode?: string | undefined;
  linkedId?: string | undefined;
  timeStamp: number;
  expiryDate?: number | undefined;
  deliveryReport: boolean;
  priority: 'Normal' | 'High' | 'Low';
  subject?: string | undefined;
  contentId: string;
  allowAdaptations: boolean;
}

/** The SubmitReq element, children in SubmitReqType order. */
export function submitReqNode(d: Mm7Dialect, f: SubmitReqFields): XmlNode {
  return {
    name: 'SubmitReq',
    children: [
      leaf('MM7Version', d.version),
      {
        name: 'SenderIdentification',
        children: [
          leaf('VASPID', f.vaspId),
          leaf('VASID', f.vasId),
          { name: 'SenderAddress', children: [leaf(f.senderAddressAs === 'number' ? 'Number' : 'ShortCode', f.senderAddress)] },
        ],
      },
      { name: 'Recipients', children: [{ name: 'To', children: f.recipients.map((r) => leaf('Number', r)) }] },
      leaf('ServiceCode', f.serviceCode),
      leaf('LinkedID', f.linkedId),
      leaf('TimeStamp', mm7Time(f.timeStamp)),
      leaf('ExpiryDate', f.expiryDate === undefined ? undefined : mm7Time(f.expiryDate)),
      leaf('DeliveryReport', String(f.deliveryReport)),
      leaf('Priority', f.priority),
      leaf('Subject', f.subject),
      // The attributes are unqualified in the schema: a prefixed dialect still writes them bare.
      { name: 'Content', attrs: { href: `cid:${f.contentId}`, allowAdaptations: String(f.allowAdaptations) } },
    ],
  };
}

export interface StatusFields {
  code: number;
  text: string;
}

const statusNode = (s: StatusFields): XmlNode => ({
  name: 'Status',
  children: [leaf('StatusCode', String(s.code)), leaf('StatusText', s.text)],
});

/** SubmitRsp, DeliverRsp, DeliveryReportRsp, ReadReplyRsp: MM7Version, Status, and MessageID for SubmitRsp. */
export function buildRsp(
  d: Mm7Dialect,
  kind: 'SubmitRsp' | 'DeliverRsp' | 'DeliveryReportRsp' | 'ReadReplyRsp',
  transactionId: string | undefined,
  status: StatusFields,
  messageId?: string,
): string {
  return envelope(d, transactionId, {
    name: kind,
    children: [leaf('MM7Version', d.version), statusNode(status), kind === 'SubmitRsp' ? leaf('MessageID', messageId) : undefined],
  });
}

/** A SOAP Fault with an RSErrorRsp in its detail (what MMSCs send for a request they refuse). */
export function buildFault(d: Mm7Dialect, transactionId: string | undefined, faultCode: 'Client' | 'Server', status: StatusFields): string {
  const p = d.namespacePrefix ? 'mm7:' : '';
  const nsAttr = d.namespacePrefix ? 'xmlns:mm7' : 'xmlns';
  const inner: string[] = [];
  render(
    { name: 'RSErrorRsp', attrs: { [nsAttr]: d.namespace }, children: [leaf('MM7Version', d.version), statusNode(status)] },
    p,
    '        ',
    inner,
  );
  const out = [`<?xml version="1.0" encoding="UTF-8"?>`, `<env:Envelope xmlns:env="${SOAP_ENV_NS}">`];
  if (transactionId !== undefined) {
    out.push('  <env:Header>');
    out.push(`    <${p}TransactionID ${nsAttr}="${xmlEscape(d.namespace)}" env:mustUnderstand="1">${xmlEscape(transactionId)}</${p}TransactionID>`);
    out.push('  </env:Header>');
  }
  out.push(
    '  <env:Body>',
    '    <env:Fault>',
    `      <faultcode>env:${faultCode}</faultcode>`,
    `      <faultstring>${xmlEscape(status.text)}</faultstring>`,
    '      <detail>',
    ...inner,
    '      </detail>',
    '    </env:Fault>',
    '  </env:Body>',
    '</env:Envelope>',
  );
  return out.join('\r\n') + '\r\n';
}

export interface DeliveryReportFields {
  transactionId: string;
  messageId: string;
  recipient: string;
  sender: string;
  timeStamp: number;
  mmStatus: string;
  statusText?: string;
}

/** DeliveryReportReq (the MMSC's side: the simulator sends it). */
export function buildDeliveryReportReq(d: Mm7Dialect, f: DeliveryReportFields): string {
  return envelope(d, f.transactionId, {
    name: 'DeliveryReportReq',
    children: [
      leaf('MM7Version', d.version),
      leaf('MMSRelayServerID', 'xinge-sim'),
      leaf('MessageID', f.messageId),
      { name: 'Recipient', children: [leaf('Number', f.recipient)] },
      { name: 'Sender', children: [leaf('ShortCode', f.sender)] },
      leaf('TimeStamp', mm7Time(f.timeStamp)),
      leaf('MMStatus', f.mmStatus),
      leaf('StatusText', f.statusText),
    ],
  });
}
