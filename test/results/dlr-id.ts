import t from 'tap';
import fc from 'fast-check';
import { candidateIds, decToHex, hexToDec, matchReceipt, matchReceiptKey, normaliseId } from '../../src/results/dlr-id.js';

const BIG_DEC = '18446744073709551615'; // 2^64 - 1, far above 2^53
const BIG_HEX = 'ffffffffffffffff';

t.test('normaliseId', async (t) => {
  t.equal(normaliseId('  00AbC12 '), 'abc12');
  t.equal(normaliseId('0000'), '0');
  t.equal(normaliseId('0'), '0');
  t.equal(normaliseId(''), '');
  t.equal(normaliseId('  '), '');
  t.equal(normaliseId('007\0'), '7');
  t.equal(normaliseId('c449ab97-44f4'), 'c449ab97-44f4');
});

t.test('conversions use BigInt (ids above 2^53)', async (t) => {
  t.equal(decToHex(BIG_DEC), BIG_HEX);
  t.equal(hexToDec('FFFFFFFFFFFFFFFF'), BIG_DEC);
  // 2^53 + 1 is not representable as a double
  t.equal(decToHex('9007199254740993'), '20000000000001');
  t.equal(hexToDec('0020000000000001'), '9007199254740993');
  t.equal(decToHex('12ab'), undefined);
  t.equal(hexToDec('xyz'), undefined);
  t.equal(decToHex('000'), '0');
});

t.test('candidateIds', async (t) => {
  t.same(candidateIds(' 00ABC ', 'as_is'), ['abc']);
  t.same(candidateIds('', 'auto'), []);
  // resp hex, receipt decimal: read decimal → hex
  t.same(candidateIds(BIG_DEC, 'hex_to_dec'), [BIG_HEX]);
  t.same(candidateIds('000123', 'hex_to_dec'), ['7b']);
  t.same(candidateIds('7B', 'hex_to_dec'), [], 'not decimal: no candidate');
  // resp decimal, receipt hex: read hex → decimal
  t.same(candidateIds('FFFFFFFFFFFFFFFF', 'dec_to_hex'), [BIG_DEC]);
  t.same(candidateIds('00007b', 'dec_to_hex'), ['123']);
  t.same(candidateIds('zz-1', 'dec_to_hex'), []);
  // auto: as is, hex→dec, dec→hex
  t.same(candidateIds('123', 'auto'), ['123', '291', '7b']);
  t.same(candidateIds('00AB', 'auto'), ['ab', '171'], 'no decimal reading');
  t.same(candidateIds('c449ab97-44f4', 'auto'), ['c449ab97-44f4'], 'neither reading');
  t.same(candidateIds('0', 'auto'), ['0'], 'duplicates dropped');
  t.same(candidateIds('9', 'auto'), ['9'], 'single digit: all readings equal');
});

t.test('matchReceipt against stored, normalised resp ids', async (t) => {
  const byResp = new Map<string, string>();
  const store = (respId: string, seg: string): void => void byResp.set(normaliseId(respId), seg);
  store('00FFFFFFFFFFFFFFFF', 'seg-hex'); // a carrier answering hex in the resp
  store('0000987654321098765432', 'seg-dec'); // and one answering decimal
  const lookup = (k: string): string | undefined => byResp.get(k);

  t.equal(matchReceipt(BIG_DEC, 'hex_to_dec', lookup), 'seg-hex');
  t.equal(matchReceipt(BIG_DEC, 'auto', lookup), 'seg-hex');
  t.equal(matchReceipt('ffffffffffffffff', 'as_is', lookup), 'seg-hex', 'case and zeros');
  t.equal(matchReceipt(BIG_DEC, 'as_is', lookup), undefined);
  const decAsHex = BigInt('987654321098765432').toString(16).toUpperCase();
  t.equal(matchReceipt('00' + decAsHex, 'dec_to_hex', lookup), 'seg-dec');
  t.equal(matchReceipt(decAsHex, 'auto', lookup), 'seg-dec');
  t.equal(matchReceipt('987654321098765432', 'auto', lookup), 'seg-dec');
  t.equal(matchReceipt('nope', 'auto', lookup), undefined);
  t.same(matchReceiptKey(BIG_DEC, 'auto', lookup), { key: BIG_HEX, value: 'seg-hex' });

  // auto prefers the id as is when several readings are outstanding
  const both = new Map([['123', 'as-is'], ['7b', 'dec→hex']]);
  t.equal(matchReceipt('123', 'auto', (k) => both.get(k)), 'as-is');
});

t.test('round trip for any 128-bit id', async (t) => {
  t.doesNotThrow(() =>
    fc.assert(
    fc.property(fc.bigInt({ min: 0n, max: (1n << 128n) - 1n }), fc.nat(4), (n, zeros) => {
      const pad = '0'.repeat(zeros);
      const hex = n.toString(16);
      const dec = n.toString(10);
      return (
        candidateIds(pad + dec, 'hex_to_dec')[0] === hex &&
        candidateIds(pad + hex.toUpperCase(), 'dec_to_hex')[0] === dec &&
        candidateIds(pad + dec, 'auto').includes(hex)
      );
    }),
  ),
  );
});
