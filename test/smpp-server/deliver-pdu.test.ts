/** Pure pieces of the SMPP server: receipt text and TLVs, MO encoding, refusal codes, allowlists. */
import t from 'tap';
import { decodeUcs2 } from '../../src/encoding/index.js';
import { Status, statusName } from '../../src/carriers/smpp/command-status.js';
import { deliverFields, receiptDate, receiptText, type ReceiptBody } from '../../src/smpp-server/deliver-pdu.js';
import { SmppRefusal, statusForRefusal } from '../../src/smpp-server/refusals.js';
import { AccountRegistry, plainIp } from '../../src/smpp-server/accounts.js';

const at = Date.parse('2026-12-06T01:02:00Z'); // 09:02 in Shanghai
const receipt = (over: Partial<ReceiptBody> = {}): ReceiptBody => ({
  kind: 'receipt',
  messageId: 'msg_abc',
  to: '+8613800138000',
  from: '01',
  status: 'delivered',
  errorCode: null,
  submittedAt: at,
  doneAt: at + 60000,
  ...over,
});

t.test('receipt text: standard fields, local dates, stat and err by final status', async (t) => {
  t.equal(receiptDate(at, 'Asia/Shanghai'), '2612060902');
  t.equal(receiptText(receipt(), 'Asia/Shanghai'), 'id:msg_abc sub:001 dlvrd:001 submit date:2612060902 done date:2612060903 stat:DELIVRD err:000 text:');
  t.match(receiptText(receipt({ status: 'undeliverable', errorCode: '13' }), 'UTC'), /dlvrd:000 .* stat:UNDELIV err:013 text:$/);
  t.match(receiptText(receipt({ status: 'rejected', errorCode: 'ESME_RINVDSTADR' }), 'UTC'), /stat:REJECTD err:001/);
  t.match(receiptText(receipt({ status: 'expired' }), 'UTC'), /stat:EXPIRED/);
});

t.test('receipt deliver_sm: esm_class 0x04, receipted_message_id and message_state', async (t) => {
  const f = deliverFields(receipt({ status: 'rejected' }), 'UTC');
  t.equal(f.esmClass, 0x04);
  t.equal(f.receiptedMessageId, 'msg_abc');
  t.equal(f.messageState, 8, 'REJECTED');
  t.equal(f.sourceAddr, '8613800138000');
  t.equal(f.destinationAddr, '01');
});

t.test('MO deliver_sm: GSM when it fits, else UCS-2; message_payload past 254 octets', async (t) => {
  const gsm = deliverFields({ kind: 'mo', from: '+8613800138000', to: '1069000001', text: 'STOP' }, 'UTC');
  t.equal(gsm.dataCoding, 0);
  t.same([...gsm.shortMessage], [0x53, 0x54, 0x4f, 0x50]);
  const cn = deliverFields({ kind: 'mo', from: '+8613800138000', to: '1069000001', text: '已还' }, 'UTC');
  t.equal(cn.dataCoding, 8);
  t.equal(decodeUcs2(cn.shortMessage), '已还');
  const long = deliverFields({ kind: 'mo', from: '+8613800138000', to: '1069000001', text: '长'.repeat(200) }, 'UTC');
  t.equal(long.shortMessage.length, 0);
  t.equal(decodeUcs2(long.messagePayload!), '长'.repeat(200));
});

t.test('refusals map to stable command_status values', async (t) => {
  t.equal(statusForRefusal('opted_out'), SmppRefusal.OPTED_OUT);
  t.equal(statusForRefusal('frequency_cap'), SmppRefusal.FREQUENCY_CAP);
  t.equal(statusForRefusal('forbidden_content'), SmppRefusal.FORBIDDEN_CONTENT);
  t.equal(statusForRefusal('queue_full'), Status.ESME_RMSGQFUL);
  t.equal(statusForRefusal('text_too_long'), Status.ESME_RINVMSGLEN);
  t.equal(statusForRefusal('something_new'), Status.ESME_RSYSERR);
  t.equal(statusName(SmppRefusal.INVALID_DCS), 'ESME_RINVDCS');
  t.equal(statusName(SmppRefusal.OPTED_OUT), 'ESME_0x00000401');
});

t.test('allowlist: addresses and subnets, IPv4 seen through a dual-stack socket', async (t) => {
  t.equal(plainIp('::ffff:10.0.0.5'), '10.0.0.5');
  const reg = new AccountRegistry({
    enabled: true, host: '127.0.0.1', port: 0, tls: false, max_binds: 3, idle_timeout_s: 60, bind_timeout_s: 10, response_timeout_s: 5,
    accounts: [{ system_id: 'a', password: 'p', allowed_ips: ['10.0.0.0/24', '192.0.2.9'], max_binds: 2, window: 1, tps: 1, category: 'notification', free_text: true }],
  });
  t.equal(reg.admit('a', 'p', '::ffff:10.0.0.5').ok, true);
  t.equal(reg.admit('a', 'p', '192.0.2.9').ok, true);
  const third = reg.admit('a', 'p', '10.0.0.6');
  t.same(third.ok ? undefined : third.status, Status.ESME_RBINDFAIL, 'max_binds 2');
  reg.release('a');
  const outside = reg.admit('a', 'p', '10.0.1.1');
  t.same(outside.ok ? undefined : outside.status, Status.ESME_RBINDFAIL, 'outside the allowlist');
  const badPw = reg.admit('a', 'x', '10.0.0.7');
  t.same(badPw.ok ? undefined : badPw.status, Status.ESME_RINVPASWD);
});
