/**
 * Checks before anything is sent to the provider (SPEC 10): display name length, numbers in
 * E.164 and among the organisation's own (caller_id.numbers), logo a real PNG within the
 * size and dimension limits, the other fields present. A failure is a 422 naming the field.
 */
import { ApiError } from '../domain/errors.js';
import { inspectPng, PngError } from './png.js';
import type { CardFields } from './provider.js';
import type { CallerIdConfig } from './config.js';

const E164 = /^\+[1-9]\d{6,14}$/;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
// Control characters and line/paragraph separators: nothing a phone should display.
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;

const invalid = (field: string, message: string) => new ApiError('invalid_caller_id', message, { field });

function text(input: Record<string, unknown>, field: string, min: number, max: number): string {
  const v = input[field];
  if (typeof v !== 'string') throw invalid(field, `${field} must be a string`);
  const s = v.trim();
  const n = [...s].length;
  if (n < min || n > max) throw invalid(field, `${field} must be ${min} to ${max} characters (got ${n})`);
  if (CONTROL.test(s)) throw invalid(field, `${field} contains control characters`);
  return s;
}

export function checkDisplayName(v: unknown, cfg: CallerIdConfig): string {
  return text({ display_name: v }, 'display_name', cfg.display_name.min, cfg.display_name.max);
}

export function checkNumbers(v: unknown, cfg: CallerIdConfig): string[] {
  if (!Array.isArray(v) || v.length === 0) throw invalid('numbers', 'numbers must be a non-empty list');
  const own = new Set(cfg.numbers);
  const seen = new Set<string>();
  v.forEach((n, i) => {
    const field = `numbers[${i}]`;
    if (typeof n !== 'string' || !E164.test(n)) throw invalid(field, `${field} must be in E.164 (+ and 7 to 15 digits)`);
    if (!own.has(n)) throw invalid(field, `${field} is not one of the organisation's numbers (caller_id.numbers)`);
    if (seen.has(n)) throw invalid(field, `${field} is listed twice`);
    seen.add(n);
  });
  return [...seen];
}

export function checkLogo(v: unknown, cfg: CallerIdConfig): Buffer {
  const field = 'logo_png_base64';
  if (typeof v !== 'string' || v.length === 0) throw invalid(field, `${field} must be a base64 string`);
  const b64 = v.replace(/\s+/g, '');
  if (b64.length % 4 !== 0 || !BASE64.test(b64)) throw invalid(field, `${field} is not valid base64`);
  // Decoded size from the text length: a huge upload is refused before it is decoded.
  if ((b64.length / 4) * 3 - (b64.endsWith('==') ? 2 : b64.endsWith('=') ? 1 : 0) > cfg.logo.max_bytes) {
    throw invalid(field, `logo is over ${cfg.logo.max_bytes} bytes`);
  }
  const png = Buffer.from(b64, 'base64');
  let info;
  try {
    info = inspectPng(png);
  } catch (err) {
    if (err instanceof PngError) throw invalid(field, `logo is not a valid PNG: ${err.message}`);
    throw err;
  }
  if (info.width > cfg.logo.max_width || info.height > cfg.logo.max_height) {
    throw invalid(field, `logo is ${info.width}x${info.height}; at most ${cfg.logo.max_width}x${cfg.logo.max_height}`);
  }
  return png;
}

/** What a card holds once checked: the logo as bytes. */
export interface CheckedCard {
  numbers: string[];
  displayName: string;
  logo: Buffer;
  industry: string;
  licenseNo: string;
  contact: string;
}

/** Every field, in the order they are reported: the first failure is the 422. */
export function checkCard(input: Record<string, unknown>, cfg: CallerIdConfig): CheckedCard {
  return {
    displayName: checkDisplayName(input.display_name, cfg),
    numbers: checkNumbers(input.numbers, cfg),
    logo: checkLogo(input.logo_png_base64, cfg),
    industry: text(input, 'industry', 1, 64),
    licenseNo: text(input, 'license_no', 1, 64),
    contact: text(input, 'contact', 1, 128),
  };
}

export function toFields(c: CheckedCard): CardFields {
  return {
    numbers: c.numbers,
    display_name: c.displayName,
    logo_png_base64: c.logo.toString('base64'),
    industry: c.industry,
    license_no: c.licenseNo,
    contact: c.contact,
  };
}
