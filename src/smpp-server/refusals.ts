/**
 * Intake refusals as submit_sm_resp command_status values (documented in
 * docs/smpp-server.md). SMPP's own codes where one fits; policy refusals SMPP has no word
 * for use the vendor range 0x400–0x4FF, one code per reason, so a client can tell an
 * opted-out number from a frequency cap without reading our logs.
 */
import type { ApiErrorCode } from '../domain/errors.js';
import { Status } from '../carriers/smpp/command-status.js';

export const SmppRefusal = {
  /** The recipient opted out of this category. */
  OPTED_OUT: 0x401,
  /** Per-number frequency cap or OTP send limit. */
  FREQUENCY_CAP: 0x402,
  /** Content lint: a forbidden word. */
  FORBIDDEN_CONTENT: 0x403,
  /** The text does not start with the account's signature (it is checked, never prepended). */
  SIGNATURE_MISSING: 0x404,
  /** The account may not send this (category, free text). */
  NOT_ALLOWED: 0x405,
  /** Outside quiet hours with `outside: refuse`. */
  QUIET_HOURS: 0x406,
  /** data_coding with no text charset (binary, compressed): SMPP 5.0 ESME_RINVDCS. */
  INVALID_DCS: 0x104,
  /** A UDH that cannot be read (esm_class says UDHI): ESME_RINVESMCLASS. */
  BAD_UDH: 0x43,
  /** Routing found no carrier for the number (or none is up). */
  SUBMIT_FAILED: 0x45,
} as const;

const BY_API_CODE: Partial<Record<ApiErrorCode, number>> = {
  invalid_phone_number: Status.ESME_RINVDSTADR,
  country_not_allowed: Status.ESME_RINVDSTADR,
  no_route: SmppRefusal.SUBMIT_FAILED,
  text_too_long: Status.ESME_RINVMSGLEN,
  queue_full: Status.ESME_RMSGQFUL,
  draining: Status.ESME_RMSGQFUL,
  rate_limited: Status.ESME_RTHROTTLED,
  opted_out: SmppRefusal.OPTED_OUT,
  frequency_cap: SmppRefusal.FREQUENCY_CAP,
  otp_rate_limited: SmppRefusal.FREQUENCY_CAP,
  forbidden_content: SmppRefusal.FORBIDDEN_CONTENT,
  quiet_hours: SmppRefusal.QUIET_HOURS,
  category_not_allowed: SmppRefusal.NOT_ALLOWED,
  free_text_not_allowed: SmppRefusal.NOT_ALLOWED,
  forbidden: SmppRefusal.NOT_ALLOWED,
  template_not_approved: SmppRefusal.NOT_ALLOWED,
  unknown_template: SmppRefusal.NOT_ALLOWED,
};

/** The command_status for an intake refusal; ESME_RSYSERR for anything unexpected. */
export function statusForRefusal(code: string): number {
  return BY_API_CODE[code as ApiErrorCode] ?? Status.ESME_RSYSERR;
}
