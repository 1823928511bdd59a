import t from 'tap';
import { detectIntent, foldReply, isOptOutKeyword } from '../../src/policy/keywords.js';

const KEYWORDS = ['TD', 'T', 'N', 'R', 'STOP', '退订', '取消', '拒收'];
const INTENTS = { paid: ['已还', '还了'], hardship: ['困难', '延期', '分期'], callback: ['回电'], dispute: ['不是我', '投诉'] };

t.test('opt-out keywords match the whole folded reply', async (t) => {
  const yes = ['TD', 'td', ' Td ', 'ＴＤ', 'ｔｄ', 'TD。', '【退订】', '退订!', '"STOP"', 'stop.', 'T', 'r', '拒收', 'T D', '退订😡', '取消\u200b'];
  const no = ['', '。', 'TD谢谢', '我要退订', 'Thanks', 'Not me', 'STOPP', 'TDD', '不退订了吗', '还款了'];
  for (const s of yes) t.ok(isOptOutKeyword(s, KEYWORDS), `yes: ${JSON.stringify(s)}`);
  for (const s of no) t.notOk(isOptOutKeyword(s, KEYWORDS), `no: ${JSON.stringify(s)}`);
});

t.test('configured keywords are folded too', async (t) => {
  t.ok(isOptOutKeyword('unsubscribe', ['ＵＮＳＵＢＳＣＲＩＢＥ']));
  t.notOk(isOptOutKeyword('td', []));
});

t.test('foldReply', async (t) => {
  t.equal(foldReply(' （ＴＤ） '), 'td');
  t.equal(foldReply('...'), '');
});

t.test('detectIntent: substring, first intent in config order', async (t) => {
  const cases: Array<[string, string | undefined]> = [
    ['我已还款了', 'paid'],
    ['还了', 'paid'],
    ['最近困难，能延期吗', 'hardship'],
    ['请回电', 'callback'],
    ['这不是我的借款，我要投诉', 'dispute'],
    ['已还，但是我要投诉', 'paid'], // paid comes first in config order
    ['已 还', 'paid'],
    ['你好', undefined],
    ['', undefined],
  ];
  for (const [text, want] of cases) t.equal(detectIntent(text, INTENTS), want, text);
  t.equal(detectIntent('投诉已还', { dispute: ['投诉'], paid: ['已还'] }), 'dispute', 'order is the config order');
});
