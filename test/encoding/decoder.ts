/**
 * Decoding (SPEC 7). Charset resolution follows SMPP 3.4 5.2.19 for 0x00-0x0F and the
 * TS 23.038 section 4 coding groups above; byte vectors are written by hand (the bit
 * layouts are spelled out) or come from Python's codecs via fixtures/vectors.json.
 */
import t from 'tap';
import { readFileSync } from 'node:fs';
import { XingeError } from '../../src/domain/errors.js';
import { decodeIncoming, decodeText, resolveCharset, type CharsetMap } from '../../src/encoding/index.js';

const fixture = JSON.parse(readFileSync(new URL('./fixtures/vectors.json', import.meta.url), 'utf8')) as {
  decoding: { gb18030: { text: string; hex: string } };
};
const b = (hex: string): Buffer => Buffer.from(hex.replace(/ /g, ''), 'hex');
const CHINA: CharsetMap = { '0': 'ascii', '15': 'gb18030' };

t.test('data_coding → charset', async (t) => {
  const cases: Array<[number, string, string]> = [
    [0x00, 'gsm7', 'SMSC default: GSM, unpacked on SMPP'],
    [0x01, 'ascii', 'IA5'],
    [0x02, 'binary', 'octet unspecified'],
    [0x03, 'latin1', 'Latin-1'],
    [0x04, 'binary', 'octet unspecified'],
    [0x06, 'binary', 'Cyrillic: no charset here, kept as hex'],
    [0x08, 'ucs2', 'UCS-2'],
    [0x0f, 'binary', 'reserved in SMPP; a carrier maps it'],
    [0x10, 'gsm7', 'general group, class bits, GSM'],
    [0x11, 'gsm7', 'general group, class 1, GSM'],
    [0x14, 'binary', 'general group, 8-bit'],
    [0x18, 'ucs2', 'general group, UCS-2'],
    [0x1c, 'gsm7', 'general group, reserved alphabet: assume GSM'],
    [0x20, 'binary', 'general group, compressed'],
    [0x48, 'ucs2', 'automatic deletion group, UCS-2'],
    [0x80, 'gsm7', 'reserved coding group: assume GSM'],
    [0xc0, 'gsm7', 'message waiting, discard'],
    [0xd8, 'gsm7', 'message waiting, store'],
    [0xe0, 'ucs2', 'message waiting, store, UCS-2'],
    [0xf0, 'gsm7', 'data coding/message class, GSM, class 0'],
    [0xf1, 'gsm7', 'class 1'],
    [0xf2, 'gsm7', 'class 2 (SIM)'],
    [0xf4, 'binary', 'bit 2 set: 8-bit data'],
    [0xf5, 'binary', '8-bit data class 1'],
    [0xf6, 'binary', '8-bit data class 2'],
  ];
  for (const [dc, cs, why] of cases) t.equal(resolveCharset(dc), cs, `0x${dc.toString(16)} ${why}`);
  t.equal(resolveCharset(0, CHINA), 'ascii', 'carrier maps 0 to ASCII');
  t.equal(resolveCharset(15, CHINA), 'gb18030', 'carrier maps 15 to GB18030');
  t.equal(resolveCharset(8, CHINA), 'ucs2', 'unmapped values keep their defaults');
  t.equal(resolveCharset(0, { '0': 'gsm7_packed' }), 'gsm7_packed');
});

t.test('decodeText per charset', async (t) => {
  const gb = fixture.decoding.gb18030;
  const cases: Array<[string, string, number, CharsetMap | undefined, string]> = [
    ['GB18030 incl. a 4-octet emoji (Python codec)', gb.hex, 15, CHINA, gb.text],
    ['UCS-2 BMP', '4f60 597d', 8, undefined, '你好'],
    ['UCS-2 surrogate pair', 'd83d de00', 8, undefined, '😀'],
    ['UCS-2 CJK extension B', 'd840 dc00', 8, undefined, '𠀀'],
    ['UCS-2 odd length', '4f60 59', 8, undefined, '你\ufffd'],
    ['ASCII on 0 for a Chinese bridge', '48 69 5f 40', 0, CHINA, 'Hi_@'],
    ['GSM on 0 by default: 5f is §, 00 is @', '48 69 5f 00', 0, undefined, 'Hi§@'],
    ['ASCII above 0x7F', '41 80', 1, undefined, 'A\ufffd'],
    ['Latin-1', 'e9 e7 a4', 3, undefined, 'éç¤'],
    ['GSM 7-bit class data_coding', '1b 65', 0xf0, undefined, '€'],
    ['8-bit data as hex', '00 ff 10', 0xf4, undefined, '00ff10'],
    ['packed GSM by carrier map', 'e8 32 9b fd 46 97 d9 ec 37', 0, { '0': 'gsm7_packed' }, 'hellohello'],
    ['empty', '', 8, undefined, ''],
  ];
  for (const [name, hex, dc, map, text] of cases) t.equal(decodeText(b(hex), dc, map), text, name);
});

t.test('decodeIncoming: UDH, fill bits, SAR, message_payload', async (t) => {
  // 05 00 03 2a 02 01 | 4f60 597d
  t.same(decodeIncoming({ shortMessage: b('0500032a0201 4f60597d'), esmClass: 0x40, dataCoding: 8 }), {
    text: '你好',
    concat: { ref: 0x2a, total: 2, seq: 1, refBits: 8 },
  });
  // Same octets without UDHI: the header is text (UCS-2 of 0500 032a 0201 ...).
  t.equal(decodeIncoming({ shortMessage: b('4f60597d'), esmClass: 0x00, dataCoding: 8 }).text, '你好');
  // Packed 'hi' after a 6-octet UDH: one fill bit, then 68 << 1 = d0, 69 (by hand).
  t.same(decodeIncoming({ shortMessage: b('050003010201 d069'), esmClass: 0x40, dataCoding: 0 }, { '0': 'gsm7_packed' }), {
    text: 'hi',
    concat: { ref: 1, total: 2, seq: 1, refBits: 8 },
  });
  // Packed 'hi' after a 7-octet UDH: no fill bits, e8 34 as without a header.
  t.same(decodeIncoming({ shortMessage: b('06080401020202 e834'), esmClass: 0x40, dataCoding: 0 }, { '0': 'gsm7_packed' }), {
    text: 'hi',
    concat: { ref: 0x0102, total: 2, seq: 2, refBits: 16 },
  });
  // esm_class with other bits set (store and forward mode 0x03) still reads UDHI.
  t.equal(decodeIncoming({ shortMessage: b('050003010201 6869'), esmClass: 0x43, dataCoding: 0 }).text, 'hi');
  const sar = { msgRefNum: 0xbeef, totalSegments: 3, segmentSeqnum: 3 };
  t.same(decodeIncoming({ shortMessage: b('4f60'), esmClass: 0, dataCoding: 8, sar }), {
    text: '你',
    concat: { ref: 0xbeef, total: 3, seq: 3, refBits: 16 },
  });
  t.same(
    decodeIncoming({ shortMessage: b('0500032a0201 4f60'), esmClass: 0x40, dataCoding: 8, sar }).concat,
    { ref: 0x2a, total: 2, seq: 1, refBits: 8 },
    'a UDH wins over SAR TLVs',
  );
  t.same(decodeIncoming({ shortMessage: b('4f60'), esmClass: 0, dataCoding: 8, sar: { ...sar, segmentSeqnum: 4 } }), { text: '你' }, 'seq > total: not joined');
  t.same(
    decodeIncoming({ shortMessage: Buffer.alloc(0), esmClass: 0, dataCoding: 8, messagePayload: b('4f60597d') }),
    { text: '你好' },
    'message_payload carries the text when short_message is empty',
  );
  t.same(
    decodeIncoming({ shortMessage: Buffer.alloc(0), esmClass: 0x40, dataCoding: 8, messagePayload: b('0500030902024f60') }),
    { text: '你', concat: { ref: 9, total: 2, seq: 2, refBits: 8 } },
    'a UDH inside message_payload',
  );
  t.equal(decodeIncoming({ shortMessage: b('c4e3bac3'), esmClass: 0, dataCoding: 15 }, CHINA).text, '你好', 'GBK bytes on 15');
});

t.test('a broken UDH is a decode_error, not a crash', async (t) => {
  for (const hex of ['', '09 00 03 01 02 01', '04 00 03 01 02']) {
    t.throws(() => decodeIncoming({ shortMessage: b(hex), esmClass: 0x40, dataCoding: 8 }), XingeError, hex || 'empty');
  }
  t.throws(
    () => decodeIncoming({ shortMessage: b('41'), esmClass: 0, dataCoding: 0, sar: { msgRefNum: 70000, totalSegments: 2, segmentSeqnum: 1 } }),
    XingeError,
    'sar_msg_ref_num beyond 16 bits',
  );
});
