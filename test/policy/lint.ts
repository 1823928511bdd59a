import t from 'tap';
import { ApiError } from '../../src/domain/errors.js';
import { ContentLinter, lintText, normalizeForMatch } from '../../src/policy/lint.js';

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
