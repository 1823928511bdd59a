/**
 * SMPP command_status codes by name (SMPP 3.4 §5.1.3 / 5.0 §4.7.6), built from node-smpp's
 * table. Metrics, logs and outcomes show the name; a code the table does not know (vendor
 * range 0x400–0x4FF, Chinese bridges' own codes) is shown as `ESME_0x%08X` so it stays a
 * stable label.
 */
import smpp from 'smpp';

const byCode = new Map<number, string>();
const byName = new Map<string, number>();
for (const [name, code] of Object.entries(smpp.errors)) {
  if (!byCode.has(code)) byCode.set(code, name);
  byName.set(name, code);
}

/** The codes xinge itself reasons about, as constants. */
export const Status = {
  ESME_ROK: 0x00,
  ESME_RINVMSGLEN: 0x01,
  ESME_RINVCMDLEN: 0x02,
  ESME_RINVCMDID: 0x03,
  ESME_RINVBNDSTS: 0x04,
  ESME_RALYBND: 0x05,
  ESME_RSYSERR: 0x08,
  ESME_RINVDSTADR: 0x0b,
  ESME_RBINDFAIL: 0x0d,
  ESME_RINVPASWD: 0x0e,
  ESME_RINVSYSID: 0x0f,
  ESME_RMSGQFUL: 0x14,
  ESME_RTHROTTLED: 0x58,
  ESME_RINVTLVSTREAM: 0xc0,
  ESME_RUNKNOWNERR: 0xff,
} as const;

/** Name of a command_status, e.g. 0x58 → `ESME_RTHROTTLED`. */
export function statusName(code: number): string {
  return byCode.get(code) ?? `ESME_0x${(code >>> 0).toString(16).toUpperCase().padStart(8, '0')}`;
}

/** Code of a status name (`ESME_RTHROTTLED` → 0x58; `ESME_0x00000401` → 0x401); undefined if unknown. */
export function statusCode(name: string): number | undefined {
  const known = byName.get(name);
  if (known !== undefined) return known;
  const m = /^ESME_0x([0-9a-f]{1,8})$/i.exec(name);
  return m ? parseInt(m[1]!, 16) : undefined;
}

/** Bind failures that mean the account or its credentials were refused: back off for minutes. */
export function isAuthFailure(code: number): boolean {
  return code === Status.ESME_RINVPASWD || code === Status.ESME_RINVSYSID || code === Status.ESME_RBINDFAIL;
}
