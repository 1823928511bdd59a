/**
 * Issue 18, point 3: the PNG check. The fixture PNGs were written by Python's zlib
 * (fixtures/gen-png.py); the odd shapes here are built chunk by chunk.
 */
import t from 'tap';
import { crc32, deflateSync } from 'node:zlib';
import { inspectPng } from '../../src/callerid/png.js';
import { LOGO, WIDE_LOGO } from './helpers.js';

const SIG = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
function chunk(type: string, data: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, 'latin1');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(data, crc32(Buffer.from(type, 'latin1'))) >>> 0);
  return Buffer.concat([head, data, crc]);
}
function ihdr(w: number, h: number, depth = 8, colour = 2, interlace = 0): Buffer {
  const d = Buffer.alloc(13);
  d.writeUInt32BE(w, 0);
  d.writeUInt32BE(h, 4);
  d[8] = depth;
  d[9] = colour;
  d[12] = interlace;
  return chunk('IHDR', d);
}
const idat = chunk('IDAT', deflateSync(Buffer.alloc(10)));
const iend = chunk('IEND', Buffer.alloc(0));

t.test('fixtures', async (t) => {
  t.same(inspectPng(LOGO), { width: 64, height: 48, bitDepth: 8, colorType: 2 });
  t.same(inspectPng(WIDE_LOGO), { width: 600, height: 20, bitDepth: 8, colorType: 2 });
});

t.test('structure', async (t) => {
  t.same(inspectPng(Buffer.concat([SIG, ihdr(3, 2, 16, 0, 1), chunk('tEXt', Buffer.from('a\0b')), idat, idat, iend])), { width: 3, height: 2, bitDepth: 16, colorType: 0 }, 'ancillary chunks, several IDAT, interlaced');
  const bad: Array<[Buffer, RegExp]> = [
    [Buffer.alloc(0), /bad signature/],
    [Buffer.concat([SIG, idat, iend]), /does not start with IHDR/],
    [Buffer.concat([SIG, ihdr(0, 5), idat, iend]), /bad PNG dimensions/],
    [Buffer.concat([SIG, ihdr(5, 5, 16, 3), idat, iend]), /colour type or bit depth/],
    [Buffer.concat([SIG, ihdr(5, 5, 8, 5), idat, iend]), /colour type or bit depth/],
    [Buffer.concat([SIG, ihdr(5, 5, 8, 2, 2), idat, iend]), /interlace/],
    [Buffer.concat([SIG, ihdr(5, 5), ihdr(5, 5), idat, iend]), /second IHDR/],
    [Buffer.concat([SIG, ihdr(5, 5), iend]), /no image data/],
    [Buffer.concat([SIG, ihdr(5, 5), idat]), /no IEND/],
    [Buffer.concat([SIG, ihdr(5, 5), idat, chunk('a1b2', Buffer.alloc(0)), iend]), /chunk type/],
  ];
  for (const [buf, re] of bad) t.throws(() => inspectPng(buf), { code: 'invalid_png', message: re });
});
