import t from 'tap';
import fc from 'fast-check';
import {
  MESSAGE_STATE_TO_STAT,
  isVendorCode,
  normaliseStat,
  parseReceipt,
  parseReceiptDate,
  parseReceiptText,
  parseReceiptTextGeneral,
  firstToken,
} from '../../src/results/receipt-parse.js';

const noTlv = {};
const at = (iso: string): number => Date.parse(iso);

t.test('receipts as seen in the wild', async (t) => {
  t.test('1. SMPP 3.4 Appendix B, 10-digit dates, decimal id with leading zero', async (t) => {
    const r = parseReceipt({
      shortMessage: Buffer.from(
        'id:0123456789 sub:001 dlvrd:001 submit date:2401011200 done date:2401011201 stat:DELIVRD err:000 text:Your repayment is',
      ),
      tlvs: noTlv,
    });
    t.equal(r.id, '0123456789');
    t.equal(r.stat, 'DELIVRD');
    t.equal(r.rawStat, 'DELIVRD');
    t.equal(r.err, '000');
    t.equal(r.sub, '001');
    t.equal(r.dlvrd, '001');
    t.equal(r.submitDate, '2401011200');
    t.equal(r.doneDate, '2401011201');
    // Beijing time by default: 12:00 +08:00 = 04:00Z
    t.equal(r.submitAt, at('2024-01-01T04:00:00Z'));
    t.equal(r.doneAt, at('2024-01-01T04:01:00Z'));
    t.equal(r.text, 'Your repayment is');
    t.equal(r.conflict, false);
  });

  t.test('2. 12-digit dates, lower-case stat, hex id, empty text', async (t) => {
    const r = parseReceipt(
      {
        shortMessage: 'id:7AC0DD43 sub:001 dlvrd:001 submit date:240101120000 done date:240101120105 stat:delivrd err:000 text:',
        tlvs: noTlv,
      },
      { tzOffsetMinutes: 0 },
    );
    t.equal(r.id, '7AC0DD43', 'id kept as written; normalising is dlr-id.ts');
    t.equal(r.stat, 'DELIVRD');
    t.equal(r.rawStat, 'delivrd');
    t.equal(r.submitAt, at('2024-01-01T12:00:00Z'));
    t.equal(r.doneAt, at('2024-01-01T12:01:05Z'));
    t.equal(r.text, '');
  });

  t.test('3. CMPP bridge: vendor stat MK:0005, no TLVs → UNDELIV, code kept', async (t) => {
    const r = parseReceipt({
      shortMessage: 'id:1234567890123456789 sub:001 dlvrd:000 submit date:2401011200 done date:2401011205 stat:MK:0005 err:000 text:',
      tlvs: noTlv,
    });
    t.equal(r.id, '1234567890123456789');
    t.equal(r.stat, 'UNDELIV');
    t.equal(r.rawStat, 'MK:0005');
    t.equal(r.err, '000');
    t.equal(r.dlvrd, '000');
  });

  t.test('4. TLV says DELIVERED, text says DB:0141: keep both', async (t) => {
    const r = parseReceipt({
      shortMessage: Buffer.from('id:00AB12 sub:001 dlvrd:001 submit date:2401011200 done date:2401011200 stat:DB:0141 err:141 text:'),
      tlvs: { receiptedMessageId: 'AB12', messageState: 2 },
    });
    t.equal(r.id, 'AB12', 'TLV id wins');
    t.equal(r.stat, 'DELIVRD', 'stat from the TLV');
    t.equal(r.tlvStat, 'DELIVRD');
    t.equal(r.rawStat, 'DB:0141', 'vendor code kept');
    t.equal(r.textStat, 'UNDELIV');
    t.equal(r.err, '141');
    t.equal(r.conflict, true);
  });

  t.test('5. upper-case keys, submit_date/done_date variants, EXPIRED', async (t) => {
    const r = parseReceipt({
      shortMessage: 'ID:ABC123 SUB:1 DLVRD:0 SUBMIT_DATE:2312312359 DONE_DATE:2401010001 STAT:EXPIRED ERR:000 TEXT:hello',
      tlvs: noTlv,
    });
    t.equal(r.id, 'ABC123');
    t.equal(r.stat, 'EXPIRED');
    t.equal(r.submitDate, '2312312359');
    t.equal(r.doneDate, '2401010001');
    t.equal(r.submitAt, at('2023-12-31T15:59:00Z'));
    t.equal(r.text, 'hello');
  });

  t.test('6. missing fields: only id, stat, err', async (t) => {
    const r = parseReceipt({ shortMessage: 'id:42 stat:UNDELIV err:001', tlvs: noTlv });
    t.equal(r.id, '42');
    t.equal(r.stat, 'UNDELIV');
    t.equal(r.err, '001');
    t.equal(r.submitDate, undefined);
    t.equal(r.sub, undefined);
    t.equal(r.text, undefined);
  });

  t.test('7. extra fields (smsc, mccmnc) do not leak into values', async (t) => {
    const r = parseReceipt({
      shortMessage:
        'id:c449ab9744f47b6af1879e49e75e4f40 sub:001 dlvrd:0 submit date:2401011200 done date:2401011200 stat:DELIVRD err:0 smsc:cmcc01 mccmnc:46000 text:Test',
      tlvs: noTlv,
    });
    t.equal(r.id, 'c449ab9744f47b6af1879e49e75e4f40');
    t.equal(r.err, '0');
    t.equal(r.stat, 'DELIVRD');
    t.equal(r.text, 'Test');
  });

  t.test('8. shuffled field order, REJECTD, id with many leading zeros', async (t) => {
    const r = parseReceipt({
      shortMessage: 'stat:REJECTD err:011 id:00000000123 done date:2401011200 submit date:2401011159 sub:001 dlvrd:000',
      tlvs: noTlv,
    });
    t.equal(r.id, '00000000123');
    t.equal(r.stat, 'REJECTD');
    t.equal(r.err, '011');
    t.equal(r.submitDate, '2401011159');
    t.equal(r.doneDate, '2401011200');
  });

  t.test('9. text containing colons and key-like words', async (t) => {
    const r = parseReceipt({
      shortMessage: 'id:5 sub:001 dlvrd:001 submit date:2401011200 done date:2401011201 stat:DELIVRD err:000 text:Note: pay by 10:00 id:1 stat:x',
      tlvs: noTlv,
    });
    t.equal(r.id, '5');
    t.equal(r.stat, 'DELIVRD');
    t.equal(r.text, 'Note: pay by 10:00 id:1 stat:x');
  });

  t.test('10. long-form words: DELIVERED and UNDELIVERABLE', async (t) => {
    t.equal(parseReceipt({ shortMessage: 'id:9 stat:DELIVERED err:000', tlvs: noTlv }).stat, 'DELIVRD');
    t.equal(parseReceipt({ shortMessage: 'id:9 stat:Undeliverable err:000', tlvs: noTlv }).stat, 'UNDELIV');
    t.equal(parseReceipt({ shortMessage: 'id:9 stat:ACCEPTED', tlvs: noTlv }).stat, 'ACCEPTD');
    t.equal(parseReceipt({ shortMessage: 'id:9 stat:ENROUTE', tlvs: noTlv }).stat, 'ENROUTE');
  });

  t.test('11. TLV only: empty short_message, network_error_code', async (t) => {
    const r = parseReceipt({
      shortMessage: Buffer.alloc(0),
      tlvs: { receiptedMessageId: '0A1B2C\0', messageState: 5, networkErrorCode: Buffer.from([3, 0x00, 0x22]) },
    });
    t.equal(r.id, '0A1B2C');
    t.equal(r.stat, 'UNDELIV');
    t.same(r.networkError, { type: 3, code: 34 });
    t.equal(r.rawStat, undefined);
    t.equal(r.conflict, false);
  });

  t.test('12. stat:ID:0012 (vendor code that looks like the id key)', async (t) => {
    const r = parseReceipt({
      shortMessage: 'id:884422 sub:001 dlvrd:000 submit date:2401011200 done date:2401011200 stat:ID:0012 err:000 text:',
      tlvs: noTlv,
    });
    t.equal(r.id, '884422');
    t.equal(r.rawStat, 'ID:0012');
    t.equal(r.stat, 'UNDELIV');
  });

  t.test('13. lower-case vendor code, err with a colon', async (t) => {
    const r = parseReceipt({ shortMessage: 'id:77 stat:UNDELIV err:DB:0141 text:x', tlvs: noTlv });
    t.equal(r.err, 'DB:0141');
    t.equal(r.stat, 'UNDELIV');
    const r2 = parseReceipt({ shortMessage: 'id:77 stat:mi:0029 err:029', tlvs: noTlv });
    t.equal(r2.stat, 'UNDELIV');
    t.equal(r2.rawStat, 'mi:0029');
  });

  t.test('14. NUL-padded C string and message_payload', async (t) => {
    const r = parseReceipt({ shortMessage: Buffer.from('id:1 stat:DELIVRD err:000\0\0\0'), tlvs: noTlv });
    t.equal(r.err, '000');
    const r2 = parseReceipt({
      shortMessage: Buffer.alloc(0),
      tlvs: { messagePayload: Buffer.from('id:99 sub:001 dlvrd:001 stat:EXPIRED err:000 Text:hi') },
    });
    t.equal(r2.id, '99');
    t.equal(r2.stat, 'EXPIRED');
    t.equal(r2.text, 'hi');
  });

  t.test('15. TLV message_state wins over the text; TLV id wins', async (t) => {
    const r = parseReceipt({
      shortMessage: 'id:123 sub:001 dlvrd:001 submit date:2401011200 done date:2401011200 stat:DELIVRD err:000',
      tlvs: { receiptedMessageId: '7b', messageState: 2 },
    });
    t.equal(r.id, '7b');
    t.equal(r.stat, 'DELIVRD');
    t.equal(r.conflict, false);
    t.equal(r.tlvStat, 'DELIVRD');
  });

  t.test('16. a space after the colon; text not last', async (t) => {
    const r = parseReceipt({ shortMessage: 'id: 31 text:hello there stat: DELIVRD err: 000', tlvs: noTlv });
    t.equal(r.id, '31');
    t.equal(r.stat, 'DELIVRD');
    t.equal(r.err, '000');
    t.equal(r.text, 'hello there');
  });

  t.test('16b. comma-separated fields', async (t) => {
    const r = parseReceipt({ shortMessage: 'id:123,sub:001,dlvrd:001,submit date:2401011200,done date:2401011201,stat:DELIVRD,err:000', tlvs: noTlv });
    t.equal(r.id, '123');
    t.equal(r.sub, '001');
    t.equal(r.submitDate, '2401011200');
    t.equal(r.stat, 'DELIVRD');
    t.equal(r.err, '000');
  });

  t.test('17. nothing at all → UNKNOWN, no throw', async (t) => {
    const r = parseReceipt({ shortMessage: '', tlvs: {} });
    t.equal(r.stat, 'UNKNOWN');
    t.equal(r.id, undefined);
    t.equal(parseReceipt({ shortMessage: 'garbage without fields', tlvs: {} }).stat, 'UNKNOWN');
  });

  t.test('18. invalid dates keep the digits, no epoch', async (t) => {
    const r = parseReceipt({ shortMessage: 'id:1 submit date:2413011200 done date:24020312 stat:DELIVRD', tlvs: noTlv });
    t.equal(r.submitDate, '2413011200');
    t.equal(r.submitAt, undefined);
    t.equal(r.doneDate, '24020312');
    t.equal(r.doneAt, undefined);
  });
});

t.test('message_state TLV 1..8 per SMPP 3.4 §5.2.28', async (t) => {
  const expected = ['ENROUTE', 'DELIVRD', 'EXPIRED', 'DELETED', 'UNDELIV', 'ACCEPTD', 'UNKNOWN', 'REJECTD'];
  for (let i = 1; i <= 8; i++) {
    t.equal(MESSAGE_STATE_TO_STAT[i], expected[i - 1]);
    t.equal(parseReceipt({ shortMessage: '', tlvs: { messageState: i } }).stat, expected[i - 1]);
  }
  // 0 (SCHEDULED) and 9 (SKIPPED) are SMPP 5.0: ignored, the text decides.
  t.equal(parseReceipt({ shortMessage: 'stat:EXPIRED', tlvs: { messageState: 0 } }).stat, 'EXPIRED');
  t.equal(parseReceipt({ shortMessage: 'stat:EXPIRED', tlvs: { messageState: 9 } }).stat, 'EXPIRED');
});

t.test('normaliseStat', async (t) => {
  const table: Array<[string | undefined, string]> = [
    ['DELIVRD', 'DELIVRD'],
    ['delivrd', 'DELIVRD'],
    ['Delivered', 'DELIVRD'],
    ['UNDELIV', 'UNDELIV'],
    ['UNDELIVERABLE', 'UNDELIV'],
    ['undelivered', 'UNDELIV'],
    ['EXPIRED', 'EXPIRED'],
    ['DELETED', 'DELETED'],
    ['REJECTD', 'REJECTD'],
    ['REJECTED', 'REJECTD'],
    ['UNKNOWN', 'UNKNOWN'],
    ['ACCEPTD', 'ACCEPTD'],
    ['en_route', 'ENROUTE'],
    ['MK:0005', 'UNDELIV'],
    ['DB:0141', 'UNDELIV'],
    ['MA:0001', 'UNDELIV'],
    ['MI:0029', 'UNDELIV'],
    ['ID:0012', 'UNDELIV'],
    ['CA:0054', 'UNDELIV'],
    ['MN:0001', 'UNDELIV'],
    ['BLACK', 'UNDELIV'],
    ['NOROUTE', 'UNDELIV'],
    ['0', 'UNKNOWN'],
    ['', 'UNKNOWN'],
    [undefined, 'UNKNOWN'],
  ];
  for (const [input, want] of table) t.equal(normaliseStat(input), want, String(input));
  t.ok(isVendorCode('MK:0005'));
  t.notOk(isVendorCode('DELIVRD'));
});

t.test('parseReceiptDate', async (t) => {
  t.equal(parseReceiptDate('2402291230', 0), at('2024-02-29T12:30:00Z'), 'leap day');
  t.equal(parseReceiptDate('2302291230', 0), undefined, 'no 29 Feb 2023');
  t.equal(parseReceiptDate('240101123059', 0), at('2024-01-01T12:30:59Z'));
  t.equal(parseReceiptDate('20240101123059', 0), at('2024-01-01T12:30:59Z'), '14 digits');
  t.equal(parseReceiptDate('2401011200'), at('2024-01-01T04:00:00Z'), 'default +08:00');
  t.equal(parseReceiptDate('24010112'), undefined);
  t.equal(parseReceiptDate('2401012400', 0), undefined);
});

t.test('parseReceiptText keeps unknown keys out', async (t) => {
  t.same(parseReceiptText('id:1 foo:bar stat:DELIVRD'), { id: '1', stat: 'DELIVRD' });
});

t.test('never throws on arbitrary input', async (t) => {
  t.doesNotThrow(() =>
    fc.assert(
    fc.property(
      fc.string(),
      fc.option(fc.integer({ min: -5, max: 300 }), { nil: undefined }),
      fc.uint8Array({ maxLength: 5 }),
      (s, state, ne) => {
        const r = parseReceipt({ shortMessage: s, tlvs: { messageState: state, networkErrorCode: Buffer.from(ne) } });
        return typeof r.stat === 'string';
      },
    ),
  ),
  );
});

t.test('firstToken: the first whitespace-delimited token, trailing , and ; dropped (as trim/split/replace did)', async (t) => {
  const before = (v: string) => (v.trim().split(/\s+/)[0] ?? '').replace(/[,;]+$/, '');
  t.equal(firstToken('  123,sub'), '123,sub');
  t.equal(firstToken(' 123,; sub:1'), '123');
  t.equal(firstToken(' \t\u3000 '), '');
  const run = fc.check(
    fc.property(fc.string({ unit: fc.constantFrom(' ', '\t', '\n', '\u00a0', '\u3000', ',', ';', 'a', '1', ':') }), (v: string) => firstToken(v) === before(v)),
    { numRuns: 2000 },
  );
  t.equal(run.failed, false, run.failed ? `counterexample: ${JSON.stringify(run.counterexample)}` : '2,000 strings of spaces, separators and text');
});

t.test('the canonical fast path reads exactly what the general parser reads', async (t) => {
  // Value pieces include what could confuse either: colons, separators, key words, spaces, CJK.
  const piece = fc.constantFrom('0', '7', 'a', 'F', ':', ',', ';', ' ', 'id:', 'stat:', 'text:', 'MK:0005', 'DELIVRD', '借', '\t', 'sub', '-');
  const value = fc.array(piece, { minLength: 1, maxLength: 6 }).map((a) => a.join(''));
  const token = fc.stringMatching(/^[A-Za-z0-9:_-]{1,12}$/);
  const canonical = fc
    .record({ id: token, sub: token, dlvrd: token, sd: token, dd: token, stat: token, err: token, text: fc.option(fc.string({ maxLength: 30 }), { nil: undefined }) })
    .map((r) => `id:${r.id} sub:${r.sub} dlvrd:${r.dlvrd} submit date:${r.sd} done date:${r.dd} stat:${r.stat} err:${r.err}${r.text === undefined ? '' : ` text:${r.text}`}`);
  const mangled = fc
    .record({ id: value, sub: value, dlvrd: value, sd: value, dd: value, stat: value, err: value, text: fc.option(value, { nil: undefined }), sep: fc.constantFrom(' ', '  ', ',', ' ,') })
    .map((r) => [`id:${r.id}`, `sub:${r.sub}`, `dlvrd:${r.dlvrd}`, `submit date:${r.sd}`, `done date:${r.dd}`, `stat:${r.stat}`, `err:${r.err}`, ...(r.text === undefined ? [] : [`text:${r.text}`])].join(r.sep));
  const same = (s: string) => JSON.stringify(parseReceiptText(s)) === JSON.stringify(parseReceiptTextGeneral(s));
  for (const [name, arb] of [['canonical receipts', canonical], ['receipts with odd values and separators', mangled]] as const) {
    const run = fc.check(fc.property(arb, same), { numRuns: 3000 });
    t.equal(run.failed, false, run.failed ? `counterexample: ${JSON.stringify(run.counterexample)}` : `3,000 ${name}`);
  }
  // And the fast path is taken for the standard layout (same result, by construction above).
  const std = 'id:0123456789 sub:001 dlvrd:001 submit date:2401011200 done date:2401011201 stat:MK:0005 err:000 text: Your  ';
  t.same(parseReceiptText(std), { id: '0123456789', sub: '001', dlvrd: '001', 'submit date': '2401011200', 'done date': '2401011201', stat: 'MK:0005', err: '000', text: 'Your' });
  t.same(parseReceiptText(std), parseReceiptTextGeneral(std));
});

t.test('stat words that are Object.prototype names are words like any other', async (t) => {
  for (const w of ['constructor', '__proto__', 'toString', 'hasOwnProperty']) t.equal(normaliseStat(w), 'UNDELIV', w);
  t.equal(normaliseStat('DELIVRD'), 'DELIVRD');
  t.equal(normaliseStat(' delivered '), 'DELIVRD');
  const r = parseReceipt({ shortMessage: Buffer.from('id:1 sub:001 dlvrd:001 submit date:2401011200 done date:2401011201 stat:__proto__ err:000\0\0'), tlvs: {} });
  t.equal(r.stat, 'UNDELIV');
  t.equal(r.err, '000', 'C-string NUL padding removed before parsing');
});
