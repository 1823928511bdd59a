/**
 * A per-message callback_url (SPEC 3, issue 15): the daemon POSTs phone numbers there for up
 * to a day of retries, so it must be one of the origins the operator configured for the
 * client (scheme, host and port exactly), never a target the caller picks freely.
 */
import { ApiError } from '../domain/errors.js';
import type { ClientConfig } from '../config/schema.js';
import { originOf } from '../config/cross-checks.js';

export function checkCallbackUrl(url: string, client: ClientConfig, field: string): void {
  const origin = originOf(url);
  if (origin === undefined) throw new ApiError('invalid_field', 'callback_url must be an absolute http(s) URL', { field });
  const allowed = client.callback_origins.map((o) => originOf(o));
  if (!allowed.includes(origin)) {
    const hint = allowed.length === 0 ? 'this client has no callback_origins configured' : `allowed: ${client.callback_origins.join(', ')}`;
    throw new ApiError('callback_not_allowed', `callback_url origin ${origin} is not one of this client's callback_origins (${hint})`, { field });
  }
}
