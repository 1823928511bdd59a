/**
 * Is this a real PNG, and how big? Pure. Reads the 8-byte signature, requires IHDR as the
 * first chunk with valid fields, walks every chunk checking its CRC (cheap at logo sizes),
 * requires at least one IDAT and IEND as the last chunk with nothing after it. Pixels are
 * not decoded: the provider renders them; this stops a JPEG, a truncated upload or a file
 * with something appended from being sent as a logo.
 */
import { crc32 } from 'node:zlib';

export interface PngInfo {
  width: number;
  height: number;
  bitDepth: number;
  colorType: number;
}

export class PngError extends Error {
  readonly code = 'invalid_png';
  constructor(message: string) {
    super(message);
    this.name = 'PngError';
  }
}

const SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
// Allowed bit depths per colour type (PNG spec, table 11.1).
const DEPTHS: Record<number, number[]> = { 0: [1, 2, 4, 8, 16], 2: [8, 16], 3: [1, 2, 4, 8], 4: [8, 16], 6: [8, 16] };

export function inspectPng(buf: Buffer): PngInfo {
  if (buf.length < SIGNATURE.length || !buf.subarray(0, 8).equals(SIGNATURE)) throw new PngError('not a PNG (bad signature)');
  let off = 8;
  let info: PngInfo | undefined;
  let idat = false;
  for (let index = 0; ; index++) {
    if (off + 12 > buf.length) throw new PngError('truncated PNG (no IEND)');
    const len = buf.readUInt32BE(off);
    if (len > 0x7fffffff || off + 12 + len > buf.length) throw new PngError('truncated PNG chunk');
    const type = buf.toString('latin1', off + 4, off + 8);
    if (!/^[A-Za-z]{4}$/.test(type)) throw new PngError('bad PNG chunk type');
    const data = buf.subarray(off + 8, off + 8 + len);
    const crc = buf.readUInt32BE(off + 8 + len);
    if ((crc32(data, crc32(buf.subarray(off + 4, off + 8))) >>> 0) !== crc) throw new PngError(`bad CRC in PNG chunk ${type}`);
    if (index === 0) {
      if (type !== 'IHDR' || len !== 13) throw new PngError('PNG does not start with IHDR');
      info = { width: data.readUInt32BE(0), height: data.readUInt32BE(4), bitDepth: data[8]!, colorType: data[9]! };
      if (info.width === 0 || info.height === 0 || info.width > 0x7fffffff || info.height > 0x7fffffff) throw new PngError('bad PNG dimensions');
      if (!(DEPTHS[info.colorType] ?? []).includes(info.bitDepth)) throw new PngError('bad PNG colour type or bit depth');
      if (data[10] !== 0 || data[11] !== 0 || (data[12] !== 0 && data[12] !== 1)) throw new PngError('bad PNG compression, filter or interlace method');
    } else if (type === 'IHDR') {
      throw new PngError('second IHDR');
    }
    if (type === 'IDAT') idat = true;
    off += 12 + len;
    if (type === 'IEND') {
      if (!idat) throw new PngError('PNG has no image data (IDAT)');
      if (off !== buf.length) throw new PngError('data after the PNG end (IEND)');
      return info!;
    }
  }
}
