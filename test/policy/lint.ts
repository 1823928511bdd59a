import t from 'tap';
import { ApiError } from '../../src/domain/errors.js';
import fc from 'fast-check';
import { ContentLinter, lintText, normalizeForMatch, normalizeForMatchFull } from '../../src/policy/lint.js';

const WORDS = ['爆通讯录', '通知你家人', '上门曝光', 'Kill'];

t.test('normalizeForMatch', async (t) => {
  const cases: Array<[string, string]> = [
    ['上 门曝光', '上门曝光'],
    ['上\u200B门\u200D曝\uFEFF光', '上门曝光'],
    ['上\u3000门\t曝\n光', '上门曝光'],
    ['ＫＩＬＬ', 'kill'],
    ['ｋｉｌｌ', 'kill'],
  ];
  for (const [input, want] of cases) t.equal(normalizeForMatch(input), want, JSON.stringify(input));
});

t.test('lintText finds words through evasions', async (t) => {
  const hits: Array<[string, string]> = [
    ['我们将上门曝光', '上门曝光'],
    ['我们将上 门曝光', '上门曝光'],
    ['我们将上\u200b门 曝 光', '上门曝光'],
    ['马上爆通讯录', '爆通讯录'],
    ['会通知你家人的', '通知你家人'],
    ['I will ＫＩＬＬ', 'Kill'],
    ['i will k i l l', 'Kill'],
  ];
  for (const [text, word] of hits) {
    const err = t.throws(() => lintText(text, WORDS)) as unknown;
    t.ok(err instanceof ApiError, text);
    const e = err as ApiError;
    t.equal(e.code, 'forbidden_content');
    t.equal(e.status, 422);
    t.equal(e.field, 'text');
    t.match(e.message, word, 'message names the configured word');
  }
});

t.test('clean texts pass', async (t) => {
  for (const text of ['请按时还款', '上门服务', '曝光台', '']) t.doesNotThrow(() => lintText(text, WORDS), text);
});

t.test('field names where the word came from', async (t) => {
  const err = t.throws(() => new ContentLinter(WORDS).check('上门曝光', 'params.name')) as ApiError;
  t.equal(err.field, 'params.name');
});

t.test('empty and blank words are ignored, not matched everywhere', async (t) => {
  const l = new ContentLinter(['', '  ', '\u200b']);
  t.equal(l.find('任何文本'), undefined);
});

t.test('the char-by-char path gives exactly what ICU NFKC gives', async (t) => {
  // Common message characters, their full-width and odd neighbours, and characters that must go to ICU.
  const chars = [
    'a', 'Z', '7', ' ', '\t', '\n', '\r', '\v', '\f', '.', ',', '~', '\u007f', '\u001f', '借', '款', '鸽', '\u9fff', '\u4e00',
    '，', '！', 'Ａ', 'ｚ', '０', '～', '\u3000', '【', '】', '。', '、', '“', '”', '—', '·', '…', 'é', 'e\u0301', '\u00a0',
    '\u200b', '\ufeff', '\uf900', '\u2460', 'ﬁ', '\uff61', '\uff5f', 'ß', 'İ', '\ud83d\ude00', '\u0085', '\u1100', '\u1161',
  ];
  const text = fc.array(fc.constantFrom(...chars), { maxLength: 40 }).map((a) => a.join(''));
  const run = fc.check(fc.property(fc.oneof(text, fc.string({ unit: 'binary', maxLength: 20 })), (s) => normalizeForMatch(s) === normalizeForMatchFull(s)), { numRuns: 5000 });
  t.equal(run.failed, false, run.failed ? `counterexample: ${JSON.stringify(run.counterexample)}` : '5,000 texts');
  t.equal(normalizeForMatch('【信鸽】您的借款ＡＢＣ　明日到期！'), '【信鸽】您的借款abc明日到期!');
  t.equal(normalizeForMatch('已经'), '已经', 'nothing to change: the text itself');
});
