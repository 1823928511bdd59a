/**
 * GSM 03.38 table, septet packing and CR padding. Expected values are from TS 23.038
 * (the table, typed from 6.2.1 and checked against Perl's Encode::GSM0338 in
 * fixtures/vectors.json), published PDU examples, or bit layouts worked by hand below.
 */
import t from 'tap';
import { readFileSync } from 'node:fs';
import { fromSeptets, gsmLength, packSeptets, toSeptets, unpackSeptets } from '../../src/encoding/gsm7.js';

const fixture = JSON.parse(readFileSync(new URL('./fixtures/vectors.json', import.meta.url), 'utf8')) as {
  decoding: { gsmAll: { text: string; hex: string } };
};
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

t.test('the whole default alphabet and extension table, both ways (Perl Encode::GSM0338)', async (t) => {
  const { text, hex: expected } = fixture.decoding.gsmAll;
  t.equal(hex(toSeptets(text)!), expected);
  t.equal(fromSeptets(Buffer.from(expected, 'hex')), text);
  t.equal(gsmLength(text), expected.length / 2);
});

t.test('gsmLength: extension characters cost two septets; anything else is not GSM', async (t) => {
  const cases: Array<[string, number]> = [
    ['', 0],
    ['hello', 5],
    ['€', 2],
    ['[]{}|~^\\\f', 18],
    ['a€b', 4],
    ['你好', -1],
    ['ç', -1], // only capital Ç is at 0x09
    ['\u001b', -1], // ESC is the escape, not a character
    ['`', -1],
    ['\t', -1],
    ['😀', -1],
  ];
  for (const [s, n] of cases) t.equal(gsmLength(s), n, JSON.stringify(s));
  t.equal(toSeptets('你'), null);
});

t.test('packing: published examples and hand-worked bit layouts', async (t) => {
  const cases: Array<[string, number, string, string]> = [
    // The SMS PDU tutorial classics (dreamfabric / GSM 03.38 examples).
    ['hellohello', 0, 'e8329bfd4697d9ec37', 'published'],
    ['How are you?', 0, 'c8f71d14969741f977fd07', 'published'],
    // 'hi' = 68 69: 68 in bits 0-6, low bit of 69 in bit 7 -> e8; 69 >> 1 = 34.
    ['hi', 0, 'e834', 'by hand'],
    // One fill bit: 68 << 1 = d0 (bits 1-7), 69 in bits 8-14 -> 69.
    ['hi', 1, 'd069', 'by hand, 1 fill bit (after a 6-octet UDH)'],
    // 7 septets = 49 bits: the 8th octet has 7 spare bits, so CR (0d << 1 = 1a) fills them.
    ['1234567', 0, '31d98c56b3dd1a', 'by hand, CR padding (TS 23.038 6.1.2.3.1)'],
    // 8 septets = 56 bits: exact, no padding.
    ['12345678', 0, '31d98c56b3dd70', 'by hand'],
    ['', 0, '', 'empty'],
  ];
  for (const [text, fill, expected, how] of cases) {
    t.equal(hex(packSeptets(toSeptets(text)!, fill)), expected, `${JSON.stringify(text)} fill ${fill} (${how})`);
    t.equal(fromSeptets(unpackSeptets(Buffer.from(expected, 'hex'), fill)), text, `unpack ${expected}`);
  }
});

t.test('unpacking strips only the CR that ends exactly on the last octet', async (t) => {
  // 1234567 CR CR (9 septets, 63 bits, one spare bit): both CRs are text.
  t.equal(fromSeptets(unpackSeptets(Buffer.from('31d98c56b3dd1a0d', 'hex'))), '1234567\r\r');
  // Trailing zero bits short of a septet are not a character.
  t.equal(fromSeptets(unpackSeptets(Buffer.from('e834', 'hex'))), 'hi');
  // A genuine @ (septet 0) at an exact boundary stays.
  t.equal(fromSeptets(unpackSeptets(packSeptets(toSeptets('1234567@')!))), '1234567@');
  t.equal(unpackSeptets(Buffer.alloc(0)).length, 0);
  t.equal(unpackSeptets(Buffer.from([0x01]), 1).length, 1, 'one octet after one fill bit holds one septet');
});

t.test('extension decoding edge cases (TS 23.038 6.2.1.1)', async (t) => {
  t.equal(fromSeptets(Buffer.from('1b65', 'hex')), '€');
  t.equal(fromSeptets(Buffer.from('1b41', 'hex')), 'A', 'unassigned extension code shows the default character');
  t.equal(fromSeptets(Buffer.from('1b1b41', 'hex')), ' A', 'ESC ESC shows a space');
  t.equal(fromSeptets(Buffer.from('411b', 'hex')), 'A', 'a lone trailing ESC shows nothing');
  t.equal(fromSeptets(Buffer.from('c1', 'hex')), 'A', 'an octet above 0x7F is read modulo 128');
});
