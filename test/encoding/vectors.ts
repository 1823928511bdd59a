/**
 * Segmentation vectors: exact wire bytes for the cases SPEC 6 and issue 3 call out.
 * The expected hex comes from test/encoding/fixtures/gen-vectors.py, run once by hand:
 * GSM septets from Perl's Encode::GSM0338, UTF-16BE/Latin-1 from Python's codecs, septet
 * packing and the cut rules from an independent Python implementation checked against
 * published PDU examples. Nothing in vectors.json was produced by src/encoding.
 */
import t from 'tap';
import { readFileSync } from 'node:fs';
import type { EncodingName, SegmentationMode } from '../../src/domain/types.js';
import { Reassembler, countSegments, decodeIncoming, segmentText } from '../../src/encoding/index.js';

interface VectorPart {
  sm: string;
  esm: number;
  sar?: [number, number, number];
  payload?: string;
}
interface Vector {
  name: string;
  how: string;
  text: string;
  encoding: EncodingName;
  dataCoding: number;
  opts: { segmentation: SegmentationMode; reference: number; packGsm7: boolean; encodings?: EncodingName[] };
  parts: VectorPart[];
}

const fixture = JSON.parse(readFileSync(new URL('./fixtures/vectors.json', import.meta.url), 'utf8')) as {
  segments: Vector[];
};

t.test('segmentText reproduces every vector byte for byte', async (t) => {
  t.ok(fixture.segments.length >= 60, 'fixture loaded');
  for (const v of fixture.segments) {
    t.test(`${v.name} (${v.how})`, async (t) => {
      const got = segmentText(v.text, v.opts);
      t.equal(got.encoding, v.encoding, 'encoding');
      t.equal(got.dataCoding, v.dataCoding, 'data_coding');
      t.same(
        got.parts.map((p) => ({
          sm: p.shortMessage.toString('hex'),
          esm: p.esmClass,
          dc: p.dataCoding,
          sar: p.sar ? [p.sar.msgRefNum, p.sar.totalSegments, p.sar.segmentSeqnum] : undefined,
          payload: p.messagePayload?.toString('hex'),
        })),
        v.parts.map((p) => ({ sm: p.sm, esm: p.esm, dc: v.dataCoding, sar: p.sar, payload: p.payload })),
      );
      const { reference: _r, ...countOpts } = v.opts;
      t.same(countSegments(v.text, countOpts), { encoding: v.encoding, segments: v.parts.length }, 'countSegments agrees');
    });
  }
});

t.test('decoding the expected bytes gives the text back', async (t) => {
  for (const v of fixture.segments) {
    const charsets = v.opts.packGsm7 ? { '0': 'gsm7_packed' as const } : undefined;
    const r = new Reassembler({ timeoutMs: 1000, max: 300, now: () => 0 });
    let text: string | undefined;
    for (const p of [...v.parts].reverse()) {
      const msg = {
        shortMessage: Buffer.from(p.sm, 'hex'),
        esmClass: p.esm,
        dataCoding: v.dataCoding,
        ...(p.payload !== undefined ? { messagePayload: Buffer.from(p.payload, 'hex') } : {}),
        ...(p.sar ? { sar: { msgRefNum: p.sar[0], totalSegments: p.sar[1], segmentSeqnum: p.sar[2] } } : {}),
      };
      const d = decodeIncoming(msg, charsets);
      if (!d.concat) text = d.text;
      else {
        const res = r.add('src>dst', d.concat, d.text);
        if (res.complete) text = res.text;
      }
    }
    // A packed single part ending in CR on an octet boundary goes out as CR CR (TS 23.038
    // 6.1.2.3.1: the receiver treats CR CR as CR); it is the one vector that gains a CR.
    const expected = v.name.startsWith('eight septets ending CR') ? `${v.text}\r` : v.text;
    t.equal(text, expected, v.name);
  }
});
