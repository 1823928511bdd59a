/**
 * UDH parsing. Every header below is written by hand from TS 23.040 9.2.3.24: UDHL, then
 * IEI/IEL/data triplets; the comment on each says how its length adds up.
 */
import t from 'tap';
import { XingeError } from '../../src/domain/errors.js';
import { buildUdh16, buildUdh8, fillBitsAfter, parseUdh } from '../../src/encoding/index.js';

const udh = (h: string) => parseUdh(Buffer.from(h.replace(/ /g, ''), 'hex'));

t.test('concatenation elements, and elements skipped by their length', async (t) => {
  const cases: Array<[string, string, object]> = [
    ['8-bit reference', '05 00 03 2a 03 02 ff', { concat: { ref: 0x2a, total: 3, seq: 2, refBits: 8 }, headerLength: 6 }],
    ['16-bit reference', '06 08 04 12 34 05 01', { concat: { ref: 0x1234, total: 5, seq: 1, refBits: 16 }, headerLength: 7 }],
    // 25 01 01 (3) + 00 03 7f 02 02 (5) = 8
    ['locking shift table first', '08 25 01 01 00 03 7f 02 02', { concat: { ref: 0x7f, total: 2, seq: 2, refBits: 8 }, headerLength: 9 }],
    // 24 01 02 (3) + 25 01 02 (3) + 08 04 00 01 02 01 (6) = 12
    ['both shift tables then 16-bit', '0c 24 01 02 25 01 02 08 04 00 01 02 01', { concat: { ref: 1, total: 2, seq: 1, refBits: 16 }, headerLength: 13 }],
    // 70 05 aa bb cc dd ee (7) + 00 03 09 04 04 (5) = 12
    ['unknown IEI with 5 octets', '0c 70 05 aa bb cc dd ee 00 03 09 04 04', { concat: { ref: 9, total: 4, seq: 4, refBits: 8 }, headerLength: 13 }],
    ['WAP ports only', '06 05 04 0b 84 23 f0', { headerLength: 7 }],
    ['empty header', '00 41 42', { headerLength: 1 }],
    ['seq 0 is ignored', '05 00 03 01 02 00', { headerLength: 6 }],
    ['seq > total is ignored', '05 00 03 01 02 03', { headerLength: 6 }],
    ['total 0 is ignored', '05 00 03 01 00 00', { headerLength: 6 }],
    // 00 04 01 02 01 00 (6): element 00 with the wrong length is not a concat element
    ['8-bit element of the wrong length', '06 00 04 01 02 01 00', { headerLength: 7 }],
    // 00 03 01 02 01 (5) + 00 03 05 03 02 (5) = 10: the last one counts
    ['repeated element', '0a 00 03 01 02 01 00 03 05 03 02', { concat: { ref: 5, total: 3, seq: 2, refBits: 8 }, headerLength: 11 }],
  ];
  for (const [name, hex, expected] of cases) t.same(udh(hex), expected, name);
});

t.test('a broken header throws decode_error', async (t) => {
  const broken: Array<[string, string]> = [
    ['empty user data', ''],
    ['UDHL past the data', '05 00 03 01'],
    ['element past the header', '03 00 03 01 02 03'],
    ['IEI without IEL', '01 00 41'],
  ];
  for (const [name, hex] of broken) {
    t.throws(() => udh(hex), XingeError, name);
    try {
      udh(hex);
    } catch (e) {
      t.equal((e as XingeError).code, 'decode_error', name);
    }
  }
});

t.test('building headers and fill bits', async (t) => {
  t.equal(buildUdh8(0x2a, 3, 1).toString('hex'), '0500032a0301');
  t.equal(buildUdh16(0xbeef, 10, 9).toString('hex'), '060804beef0a09');
  // 6 octets = 48 bits, next septet boundary 49: 1 fill bit; 7 octets = 56 bits: none.
  t.equal(fillBitsAfter(6), 1);
  t.equal(fillBitsAfter(7), 0);
  t.equal(fillBitsAfter(1), 6); // 8 bits -> boundary 14
  t.equal(fillBitsAfter(9), 5); // 72 bits -> boundary 77
});
