/**
 * Phone numbers to E.164 (SPEC 3): accept `+8613800138000`, `8613800138000`,
 * `13800138000`; international numbers only for country codes in allowed_countries.
 */
import { parsePhoneNumberFromString } from 'libphonenumber-js/max';
import { ApiError } from './errors.js';

const CN_MOBILE = /^1[3-9]\d{9}$/;

export function normalizeMsisdn(input: unknown, allowedCountries: readonly string[], field = 'to'): string {
  if (typeof input !== 'string' && typeof input !== 'number') {
    throw new ApiError('invalid_phone_number', 'phone number must be a string', { field });
  }
  const raw = String(input).replace(/[\s\-()]/g, '');
  // Chinese mobile numbers (the bulk of the traffic) have a fixed shape: 1[3-9] and 9 digits.
  const cn = /^(?:\+?86|0086)?(1[3-9]\d{9})$/.exec(raw);
  if (cn !== null) {
    if (!allowedCountries.includes('86')) throw new ApiError('country_not_allowed', 'country code +86 is not allowed', { field });
    return `+86${cn[1]}`;
  }
  let candidate: string;
  if (CN_MOBILE.test(raw)) candidate = `+86${raw}`;
  else if (/^86 ?1[3-9]\d{9}$/.test(raw)) candidate = `+${raw}`;
  else if (raw.startsWith('00')) candidate = `+${raw.slice(2)}`;
  else if (raw.startsWith('+')) candidate = raw;
  else if (/^\d{8,15}$/.test(raw)) candidate = `+${raw}`;
  else throw new ApiError('invalid_phone_number', 'not a phone number', { field });
  const parsed = parsePhoneNumberFromString(candidate);
  if (parsed === undefined || !parsed.isValid()) {
    throw new ApiError('invalid_phone_number', 'not a valid phone number', { field });
  }
  if (!allowedCountries.includes(parsed.countryCallingCode)) {
    throw new ApiError('country_not_allowed', `country code +${parsed.countryCallingCode} is not allowed`, { field });
  }
  return parsed.number;
}
