/**
 * Content lint (SPEC 11): configurable forbidden words (threats, contacting relatives,
 * exposure) refuse a message with 422 naming the word.
 *
 * Senders dodge word lists with spacing, zero-width characters and full-width forms, so
 * both the text and the words are normalised the same way before matching: NFKC (folds
 * full-width Latin/digits and compatibility ideographs), lower case, and every whitespace
 * and invisible formatting character removed.
 */
import { ApiError } from '../domain/errors.js';

/** Whitespace (incl. U+3000 ideographic space) and zero-width / invisible formatting chars. */
const INVISIBLE = /[\s\u00AD\u180E\u200B-\u200F\u202A-\u202E\u2060-\u2064\uFEFF]/gu;

/** The matching form of a text: NFKC, lower case, whitespace and zero-width removed. */
export function normalizeForMatch(text: string): string {
  return normalizeCommon(text) ?? normalizeForMatchFull(text);
}

/** normalizeForMatch by ICU (exported for the property test). */
export function normalizeForMatchFull(text: string): string {
  return text.normalize('NFKC').toLowerCase().replace(INVISIBLE, '');
}

/**
 * The same result, char by char, for texts made only of what nearly every message is made
 * of: printable ASCII, CJK unified ideographs, common CJK punctuation that NFKC keeps, and
 * full-width forms (which NFKC maps to ASCII). None of these compose with a neighbour, so
 * the per-char mapping is exactly NFKC's. Anything else: undefined (ICU decides).
 * A message is linted on every accept; ICU costs ~2 µs for a short text, this ~0.2.
 */
function normalizeCommon(text: string): string | undefined {
  let out = '';
  let from = 0;
  let changed = false;
  for (let i = 0; i < text.length; i++) {
    let c = text.charCodeAt(i);
    if (c >= 0x4e00 && c <= 0x9fff) continue;
    if (c >= 0xff01 && c <= 0xff5e) c -= 0xfee0;
    else if (c === 0x3000) c = 0x20;
    else if (c > 0x7e && !NFKC_STABLE_PUNCTUATION.has(c)) return undefined;
    else if (c < 0x20 && (c < 0x09 || c > 0x0d)) return undefined;
    let keep: string;
    if (c === 0x20 || (c >= 0x09 && c <= 0x0d)) keep = ''; // whitespace goes
    else if (c >= 0x41 && c <= 0x5a) keep = String.fromCharCode(c + 32); // A-Z, also from full width
    else if (c !== text.charCodeAt(i)) keep = String.fromCharCode(c); // a full-width form, folded
    else continue; // kept as it is
    out += text.slice(from, i) + keep;
    from = i + 1;
    changed = true;
  }
  return changed ? out + text.slice(from) : text;
}

/** 、。〈〉《》「」『』【】〔〕 ‘’“” — ·: no decomposition, no case (… is not here: NFKC makes it "..."). */
const NFKC_STABLE_PUNCTUATION = new Set([
  0x3001, 0x3002, 0x3008, 0x3009, 0x300a, 0x300b, 0x300c, 0x300d, 0x300e, 0x300f, 0x3010, 0x3011, 0x3014, 0x3015,
  0x2018, 0x2019, 0x201c, 0x201d, 0x2014, 0x00b7,
]);

/** A word list compiled once (at config load) and matched many times. */
export class ContentLinter {
  readonly #words: ReadonlyArray<{ word: string; norm: string }>;

  constructor(words: readonly string[]) {
    this.#words = words
      .map((word) => ({ word, norm: normalizeForMatch(word) }))
      // An empty (or all-whitespace) word would match everything: ignore it.
      .filter((w) => w.norm !== '');
  }

  /** The first configured word found in the text, as configured; undefined when clean. */
  find(text: string): string | undefined {
    const norm = normalizeForMatch(text);
    for (const w of this.#words) if (norm.includes(w.norm)) return w.word;
    return undefined;
  }

  /** Throws ApiError forbidden_content (422) naming the word and the field it came from. */
  check(text: string, field = 'text'): void {
    const word = this.find(text);
    if (word !== undefined) {
      throw new ApiError('forbidden_content', `${field} contains the forbidden word "${word}"`, { field });
    }
  }
}

/** One-shot form of ContentLinter.check; prefer a compiled ContentLinter on hot paths. */
export function lintText(text: string, forbiddenWords: readonly string[], field = 'text'): void {
  new ContentLinter(forbiddenWords).check(text, field);
}
