/** segmentText/countSegments with a client's cuts (SMPP server intake): kept when valid, else the usual cut. */
import t from 'tap';
import { countSegments, segmentText, decodeUcs2 } from '../../src/encoding/index.js';

const text = '您'.repeat(100);

t.test('UCS-2 cuts that fit are kept', async (t) => {
  const s = segmentText(text, { segmentation: 'udh8', reference: 1, cuts: [40, 100] });
  t.same(s.parts.map((p) => decodeUcs2(p.shortMessage.subarray(6)).length), [40, 60]);
  t.equal(countSegments(text, { segmentation: 'udh8', cuts: [40, 100] }).segments, 2);
  const sar = segmentText('短信', { segmentation: 'sar', reference: 1, cuts: [1, 2] });
  t.equal(sar.parts.length, 2, 'two parts even when the text would fit one');
});

t.test('cuts that do not fit, do not cover the text, or split a pair fall back to the usual cut', async (t) => {
  t.same(segmentText(text, { segmentation: 'udh8', reference: 1, cuts: [80, 100] }).parts.length, 2, 'over 67: usual cut');
  t.same(countSegments(text, { segmentation: 'udh8', cuts: [20, 40, 60, 80, 100] }).segments, 5);
  t.same(countSegments(text, { segmentation: 'udh8', cuts: [20, 50] }).segments, 2, 'not to the end: usual cut');
  const emoji = 'a😀'.repeat(40);
  t.same(countSegments(emoji, { segmentation: 'udh8', cuts: [2, 120] }).segments, 2, 'splitting a surrogate pair: usual cut');
});

t.test('GSM cuts are counted in septets (an extension character takes two)', async (t) => {
  const gsm = '{'.repeat(70) + 'a'.repeat(70);
  // 70 '{' are 140 septets: fits a 153-septet part; the rest is 70.
  const kept = segmentText(gsm, { segmentation: 'udh8', reference: 1, cuts: [70, 140] });
  t.same(kept.parts.map((p) => p.shortMessage.length - 6), [140, 70]);
  t.equal(countSegments(gsm, { segmentation: 'udh8', cuts: [100, 140] }).segments, 2, '200 septets do not fit: usual cut');
  t.same(segmentText(gsm, { segmentation: 'udh8', reference: 1, cuts: [100, 140] }).parts.map((p) => p.shortMessage.length - 6), [153, 57]);
});
