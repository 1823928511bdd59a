/**
 * One error catalogue: every refusal the API can give, with a stable code and HTTP status.
 * Thrown as ApiError; the HTTP layer renders {"error":{"code","message","field"}}.
 */
export const ERROR_CATALOGUE = {
  bad_request: 400,
  bad_url: 400,
  invalid_json: 400,
  invalid_field: 400,
  invalid_phone_number: 400,
  country_not_allowed: 400,
  text_too_long: 400,
  missing_param: 400,
  unknown_param: 400,
  unknown_template: 400,
  batch_too_large: 400,
  callback_not_allowed: 400,
  unauthorized: 401,
  forbidden: 403,
  category_not_allowed: 403,
  free_text_not_allowed: 403,
  sender_not_allowed: 403,
  not_found: 404,
  method_not_allowed: 405,
  request_timeout: 408,
  idempotency_conflict: 409,
  operation_pending: 409,
  invalid_state: 409,
  payload_too_large: 413,
  uri_too_long: 414,
  unsupported_media_type: 415,
  expectation_failed: 417,
  opted_out: 422,
  template_not_approved: 422,
  forbidden_content: 422,
  no_route: 422,
  quiet_hours: 422,
  invalid_caller_id: 422,
  provider_refused: 422,
  rate_limited: 429,
  headers_too_large: 431,
  frequency_cap: 429,
  otp_rate_limited: 429,
  draining: 503,
  queue_full: 503,
  store_unavailable: 503,
  internal: 500,
  provider_auth_failed: 502,
} as const;

export type ApiErrorCode = keyof typeof ERROR_CATALOGUE;

export class ApiError extends Error {
  readonly code: ApiErrorCode;
  readonly status: number;
  readonly field: string | undefined;
  /** Seconds, for 429 and 503 answers. */
  readonly retryAfter: number | undefined;
  constructor(code: ApiErrorCode, message: string, opts: { field?: string; retryAfter?: number } = {}) {
    super(message);
    this.name = 'ApiError';
    this.code = code;
    this.status = ERROR_CATALOGUE[code];
    this.field = opts.field;
    this.retryAfter = opts.retryAfter;
  }
  toBody(): { error: { code: string; message: string; field?: string } } {
    const error: { code: string; message: string; field?: string } = { code: this.code, message: this.message };
    if (this.field !== undefined) error.field = this.field;
    return { error };
  }
}

/** Base for internal typed errors with a stable code (config, store, protocol). */
export class XingeError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.name = 'XingeError';
    this.code = code;
  }
}
