/**
 * routeCandidates runs for every accepted message: the loop that replaced a map/filter and a
 * regex per prefix must order carriers exactly as that straightforward version did.
 */
import t from 'tap';
import fc from 'fast-check';
import { pickCarrier, routeCandidates, type RouteCarrier, type RoutingTable } from '../../src/scheduler/routing.js';
import { CATEGORIES, type Category } from '../../src/domain/types.js';

/** The straightforward version, as it was. */
function reference(table: RoutingTable, to: string, category: Category): string[] {
  const national = to.startsWith('+86') ? to.slice(3) : to.replace(/^\+/, '');
  const takes = (c: RouteCarrier) => c.categories === undefined || c.categories.includes(category);
  const out: string[] = [];
  const add = (id: string | undefined) => {
    if (id === undefined || out.includes(id)) return;
    const c = table.carriers.find((x) => x.id === id);
    if (c !== undefined && takes(c)) out.push(id);
  };
  add(table.portedNumbers[to] ?? table.portedNumbers[national]);
  const matches = table.carriers
    .map((c) => ({ c, len: Math.max(0, ...c.prefixes.filter((p) => national.startsWith(p) || to.replace(/^\+/, '').startsWith(p)).map((p) => p.length)) }))
    .filter((x) => x.len > 0)
    .sort((a, b) => b.len - a.len);
  for (const m of matches) add(m.c.id);
  add(table.defaultCarrier);
  for (const c of table.carriers) if (c.prefixes.length === 0) add(c.id);
  return out;
}

const digits = (min: number, max: number) => fc.stringMatching(new RegExp(`^[0-9]{${min},${max}}$`));
const carrierIds = ['cm', 'cu', 'ct', 'intl', 'spare'];
const tableArb: fc.Arbitrary<RoutingTable> = fc.record({
  carriers: fc.uniqueArray(
    fc.record({
      id: fc.constantFrom(...carrierIds),
      prefixes: fc.array(fc.oneof(digits(1, 4), fc.constantFrom('134', '138', '86138', '130', '133', '1')), { maxLength: 6 }),
      categories: fc.option(fc.subarray([...CATEGORIES], { minLength: 1 }), { nil: undefined }),
    }),
    { selector: (c) => c.id, maxLength: 5 },
  ),
  portedNumbers: fc.dictionary(fc.constantFrom('+8613800138000', '13800138000', '+8613300000000'), fc.constantFrom(...carrierIds)),
  defaultCarrier: fc.option(fc.constantFrom(...carrierIds), { nil: undefined }),
});
const numberArb = fc.oneof(
  fc.constantFrom('+8613800138000', '+8613300000000', '+85291234567'),
  digits(8, 13).map((d) => `+86${d}`),
  digits(8, 13).map((d) => `+${d}`),
);

t.test('same candidates, in the same order, as the straightforward version', async (t) => {
  // fc.check reports the first counterexample (shrunk) instead of throwing.
  const run = fc.check(
    fc.property(tableArb, numberArb, fc.constantFrom(...CATEGORIES), (table, to, category) =>
      JSON.stringify(routeCandidates(table, to, category)) === JSON.stringify(reference(table, to, category)),
    ),
    { numRuns: 400 },
  );
  t.equal(run.failed, false, run.failed ? `counterexample: ${JSON.stringify(run.counterexample)}` : '400 random tables and numbers');
  t.equal(run.numRuns, 400);
});

t.test('longest prefix wins; ported numbers first; a category-restricted carrier is skipped', async (t) => {
  const table: RoutingTable = {
    carriers: [
      { id: 'cm', prefixes: ['13', '138'] },
      { id: 'cu', prefixes: ['1380'], categories: ['marketing'] },
      { id: 'ct', prefixes: ['133'] },
      { id: 'spare', prefixes: [] },
    ],
    portedNumbers: { '+8613300000000': 'cm' },
    defaultCarrier: 'ct',
  };
  t.same(routeCandidates(table, '+8613800138000', 'notification'), ['cm', 'ct', 'spare']);
  t.same(routeCandidates(table, '+8613800138000', 'marketing'), ['cu', 'cm', 'ct', 'spare']);
  t.same(routeCandidates(table, '+8613300000000', 'otp'), ['cm', 'ct', 'spare'], 'ported to cm ahead of its prefix owner');
  t.equal(pickCarrier(table, '+8613800138000', 'marketing', (id) => id === 'cu'), 'cm', 'an unavailable carrier is passed over');
  t.equal(pickCarrier(table, '+8613800138000', 'marketing', () => true), 'cu', 'all unavailable: the first candidate');
});
