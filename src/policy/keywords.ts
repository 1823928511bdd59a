/**
 * MO reply classification (SPEC 7, 11): opt-out keywords and reply intents.
 *
 * Opt-out matches the WHOLE reply, never a substring: single letters such as T, N and R
 * are keywords, and "Thanks" or "Not me" must not unsubscribe anyone. Phones send
 * full-width letters (ＴＤ) and people add punctuation ("TD。", "【退订】"), so both sides are
 * folded: NFKC, lower case, whitespace and invisible characters removed, punctuation and
 * symbols trimmed from both ends.
 */
import { normalizeForMatch } from './lint.js';

/** Punctuation and symbols (incl. CJK brackets, emoji) at either end of the reply. */
const EDGE_PUNCT = /^[\p{P}\p{S}]+|[\p{P}\p{S}]+$/gu;

/** The comparable form of a short reply: normalised, then edge punctuation trimmed. */
export function foldReply(text: string): string {
  // Whitespace is already gone, so one pass trims "( TD )" down to "td".
  return normalizeForMatch(text).replace(EDGE_PUNCT, '');
}

/** True when the whole reply, folded, equals one of the keywords, folded. */
export function isOptOutKeyword(text: string, keywords: readonly string[]): boolean {
  const reply = foldReply(text);
  if (reply === '') return false;
  return keywords.some((k) => foldReply(k) === reply);
}

/**
 * The first intent (in config order; Object.entries keeps YAML order for non-numeric keys) one of whose phrases occurs anywhere in the reply;
 * undefined when none does. Phrases are substrings: "我已还款了" matches 已还.
 */
export function detectIntent(
  text: string,
  intents: Readonly<Record<string, readonly string[]>>,
): string | undefined {
  const reply = normalizeForMatch(text);
  if (reply === '') return undefined;
  for (const [intent, phrases] of Object.entries(intents)) {
    for (const p of phrases) {
      const phrase = normalizeForMatch(p);
      if (phrase !== '' && reply.includes(phrase)) return intent;
    }
  }
  return undefined;
}
