/** An MMSC's config read as what the codec and client need, and the choice of MMSC for a number. */
import type { MmscConfig } from '../config/schema.js';
import type { Mm7Profile } from './submit-req.js';
import type { Mm7ClientOptions } from './client.js';

export function profileOf(c: MmscConfig): Mm7Profile {
  return {
    namespace: c.namespace,
    version: c.version,
    namespacePrefix: c.namespace_prefix,
    vaspId: c.vaspid,
    vasId: c.vasid,
    serviceCode: c.service_code,
    sender: c.sender,
    senderAddressAs: c.sender_address,
    soapCharset: c.soap_charset,
    textCharset: c.text_charset,
    content: c.content,
    transferEncoding: c.transfer_encoding,
    deliveryReport: c.delivery_report,
    allowAdaptations: c.allow_adaptations,
  };
}

export function clientOptionsOf(c: MmscConfig): Mm7ClientOptions {
  return {
    url: c.url,
    username: c.username,
    password: c.password,
    connectTimeoutMs: c.connect_timeout_ms,
    timeoutMs: c.timeout_ms,
    retries: c.retries,
    retryInitialMs: c.retry_initial_ms,
    statusCodes: c.status_codes,
    connections: c.concurrency,
  };
}

/** A recipient as the MMSC wants it written: +8613800138000 → 8613800138000 | 13800138000 | +8613800138000. */
export function recipientAddress(e164: string, format: MmscConfig['recipient_format']): string {
  if (format === 'e164') return e164;
  const digits = e164.replace(/^\+/, '');
  if (format === 'national' && digits.startsWith('86')) return digits.slice(2);
  return digits;
}

/** The MMSC for a number: the first whose prefixes match its national digits, else the first without prefixes. */
export function pickMmsc(mmscs: readonly MmscConfig[], e164: string): MmscConfig | undefined {
  const national = e164.replace(/^\+86/, '').replace(/^\+/, '');
  return mmscs.find((m) => m.prefixes.length > 0 && m.prefixes.some((p) => national.startsWith(p))) ?? mmscs.find((m) => m.prefixes.length === 0);
}
