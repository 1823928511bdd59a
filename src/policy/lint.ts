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
  return text.normalize('NFKC').toLowerCase().replace(INVISIBLE, '');
}

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
