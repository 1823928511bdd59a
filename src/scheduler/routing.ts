/**
 * Routing table (pure): a number goes to the carrier whose prefixes match it (Chinese
 * mobile ranges per operator, a default only), overridden by the ported-number table,
 * else the default carrier; a carrier restricted to categories only takes those.
 * `unavailable` carriers (paused, no bound bind, already tried) are skipped and the next
 * matching one takes the message.
 */
import type { Category } from '../domain/types.js';

export interface RouteCarrier {
  id: string;
  prefixes: readonly string[];
  categories?: readonly Category[] | undefined;
}

export interface RoutingTable {
  carriers: readonly RouteCarrier[];
  portedNumbers: Readonly<Record<string, string>>;
  defaultCarrier?: string | undefined;
}

/** National significant number for prefix matching: +8613800138000 → 13800138000. */
function nationalPart(e164: string): string {
  return e164.startsWith('+86') ? e164.slice(3) : e164.replace(/^\+/, '');
}

/** Candidate carriers in preference order (before availability). */
export function routeCandidates(table: RoutingTable, to: string, category: Category): string[] {
  const national = nationalPart(to);
  const takes = (c: RouteCarrier) => c.categories === undefined || c.categories.includes(category);
  const out: string[] = [];
  const add = (id: string | undefined) => {
    if (id === undefined || out.includes(id)) return;
    const c = table.carriers.find((x) => x.id === id);
    if (c !== undefined && takes(c)) out.push(id);
  };
  add(table.portedNumbers[to] ?? table.portedNumbers[national]);
  // Longest matching prefix first. Runs for every message accepted: no regex, no arrays per prefix.
  const bare = to.startsWith('+') ? to.slice(1) : to;
  const matches: Array<{ c: RouteCarrier; len: number }> = [];
  for (const c of table.carriers) {
    let len = 0;
    for (const p of c.prefixes) if (p.length > len && (national.startsWith(p) || bare.startsWith(p))) len = p.length;
    if (len > 0) matches.push({ c, len });
  }
  if (matches.length > 1) matches.sort((a, b) => b.len - a.len);
  for (const m of matches) add(m.c.id);
  add(table.defaultCarrier);
  // Carriers with no prefixes take any number: last-resort failover targets.
  for (const c of table.carriers) if (c.prefixes.length === 0) add(c.id);
  return out;
}

export function pickCarrier(
  table: RoutingTable,
  to: string,
  category: Category,
  unavailable: (id: string) => boolean,
): string | undefined {
  const cands = routeCandidates(table, to, category);
  return cands.find((id) => !unavailable(id)) ?? cands[0];
}
