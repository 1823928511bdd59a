/** Framing and codec: hex fixtures, node-smpp parity for submit_sm, strict decoding of bad bodies. */
import t from 'tap';
import smpp from 'smpp';
import { PduFramer, MAX_PDU_LENGTH } from '../../src/carriers/smpp/framing.js';
import {
  decodePdu,
  encodeHeader,
  encodeMessageIdResp,
  encodePdu,
  encodeSubmitSm,
  encodeShortMessagePdu,
  responseIdFor,
  CommandId,
} from '../../src/carriers/smpp/codec.js';
import { DecodeError, FramingError, SmppError } from '../../src/carriers/smpp/errors.js';
import { statusName, statusCode, isAuthFailure, Status } from '../../src/carriers/smpp/command-status.js';

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');

t.test('framer splits a stream at command_length, across chunk boundaries', async (t) => {
  const a = encodeHeader(CommandId.enquire_link, 0, 1);
  const b = encodeMessageIdResp(CommandId.submit_sm_resp, 0, 2, 'abc');
  const stream = Buffer.concat([a, b, a]);
  for (let cut = 1; cut < stream.length; cut++) {
    const f = new PduFramer();
    const out = [...f.push(stream.subarray(0, cut)), ...f.push(stream.subarray(cut))];
    t.same(out.map((x) => x.toString('hex')), [a, b, a].map((x) => x.toString('hex')), `cut at ${cut}`);
    t.equal(f.pending, 0);
  }
  const f = new PduFramer();
  t.same(f.push(stream.subarray(0, 3)), [], 'fewer than 4 octets: nothing yet');
  t.equal(f.pending, 3);
});

t.test('framer: command_length under 16 or over 64 KiB is a framing error', async (t) => {
  for (const len of [0, 8, 15, MAX_PDU_LENGTH + 1, 0x7fffffff]) {
    const f = new PduFramer();
    const h = encodeHeader(CommandId.enquire_link, 0, 1);
    h.writeUInt32BE(len, 0);
    t.throws(() => f.push(h), FramingError, `length ${len}`);
    t.throws(() => f.push(encodeHeader(CommandId.enquire_link, 0, 1)), { code: 'smpp_framing' }, 'refuses input after');
  }
  const ok = new PduFramer();
  const big = Buffer.alloc(MAX_PDU_LENGTH);
  big.writeUInt32BE(MAX_PDU_LENGTH, 0);
  t.equal(ok.push(big).length, 1, 'exactly 64 KiB is allowed');
});

t.test('hand-written submit_sm encoder matches node-smpp byte for byte', async (t) => {
  const cases = [
    { sm: Buffer.from('hello'), esm: 0, dc: 0, extra: {} },
    { sm: Buffer.concat([hex('050003a70201'), Buffer.alloc(153, 0x61)]), esm: 0x40, dc: 0, extra: {} },
    { sm: Buffer.from('你好', 'utf16le').swap16(), esm: 0, dc: 8, extra: { sar: [7, 2, 1] } },
    { sm: Buffer.alloc(0), esm: 0, dc: 8, extra: { payload: Buffer.alloc(600, 1) } },
  ];
  for (const c of cases) {
    const ours = encodeSubmitSm(42, {
      sourceAddrTon: 5,
      sourceAddrNpi: 0,
      sourceAddr: 'XINGE',
      destAddrTon: 1,
      destAddrNpi: 1,
      destinationAddr: '8613800138000',
      esmClass: c.esm,
      registeredDelivery: 1,
      dataCoding: c.dc,
      shortMessage: c.sm,
      ...(c.extra.payload ? { messagePayload: c.extra.payload } : {}),
      ...(c.extra.sar ? { sarMsgRefNum: c.extra.sar[0], sarTotalSegments: c.extra.sar[1], sarSegmentSeqnum: c.extra.sar[2] } : {}),
    });
    const theirs = new smpp.PDU('submit_sm', {
      sequence_number: 42,
      source_addr_ton: 5,
      source_addr_npi: 0,
      source_addr: 'XINGE',
      dest_addr_ton: 1,
      dest_addr_npi: 1,
      destination_addr: '8613800138000',
      esm_class: c.esm,
      registered_delivery: 1,
      data_coding: c.dc,
      short_message: c.sm,
      ...(c.extra.payload ? { message_payload: c.extra.payload } : {}),
      ...(c.extra.sar ? { sar_msg_ref_num: c.extra.sar[0], sar_total_segments: c.extra.sar[1], sar_segment_seqnum: c.extra.sar[2] } : {}),
    }).toBuffer();
    t.equal(ours.toString('hex'), theirs.toString('hex'));
    const d = decodePdu(ours);
    t.equal(d.command, 'submit_sm');
    t.equal((d.fields['short_message'] as Buffer).toString('hex'), c.sm.toString('hex'), 'short_message round-trips raw');
    t.equal(d.fields['data_coding'], c.dc, 'data_coding as given, not guessed');
    t.equal(d.fields['esm_class'], c.esm, 'esm_class as given');
  }
});

t.test('deliver_sm receipts from encodeShortMessagePdu: the same bytes as node-smpp, TLVs decoded back', async (t) => {
  for (const id of ['0', '1a2b3c4d', '18446744073709551615']) {
    const text = Buffer.from(`id:${id} sub:001 dlvrd:001 submit date:2611291200 done date:2611291201 stat:DELIVRD err:000 text:`, 'latin1');
    const ours = encodeShortMessagePdu(CommandId.deliver_sm, 7, {
      sourceAddrTon: 1,
      sourceAddrNpi: 1,
      sourceAddr: '8613800138000',
      destAddrTon: 5,
      destAddrNpi: 0,
      destinationAddr: '10690000',
      esmClass: 0x04,
      registeredDelivery: 0,
      dataCoding: 0,
      shortMessage: text,
      receiptedMessageId: id,
      messageState: 2,
    });
    const theirs = new smpp.PDU('deliver_sm', {
      sequence_number: 7,
      source_addr_ton: 1,
      source_addr_npi: 1,
      source_addr: '8613800138000',
      dest_addr_ton: 5,
      dest_addr_npi: 0,
      destination_addr: '10690000',
      esm_class: 0x04,
      data_coding: 0,
      short_message: text,
      receipted_message_id: id,
      message_state: 2,
    }).toBuffer();
    t.equal(ours.toString('hex'), theirs.toString('hex'), `id ${id}`);
    const d = decodePdu(ours);
    t.equal(d.command, 'deliver_sm');
    t.equal(d.tlvs['receipted_message_id'], id);
    t.equal(d.tlvs['message_state'], 2);
  }
  t.throws(
    () => encodeShortMessagePdu(CommandId.deliver_sm, 1, { sourceAddrTon: 0, sourceAddrNpi: 0, sourceAddr: '', destAddrTon: 0, destAddrNpi: 0, destinationAddr: '', esmClass: 4, registeredDelivery: 0, dataCoding: 0, shortMessage: Buffer.alloc(0), receiptedMessageId: 'x'.repeat(65) }),
    { code: 'smpp_encode' },
    'a receipted_message_id over 64 octets is refused',
  );
});

t.test('node-smpp encodePdu sends a Buffer short_message as is, with our data_coding and esm_class', async (t) => {
  const sm = Buffer.from([0x00, 0x1b, 0x65, 0x7f, 0xff]); // bytes node-smpp would mangle as text
  const buf = encodePdu('deliver_sm', 9, { source_addr: '1', destination_addr: '2', esm_class: 0x04, data_coding: 0, short_message: sm });
  const d = decodePdu(buf);
  t.equal((d.fields['short_message'] as Buffer).toString('hex'), sm.toString('hex'));
  t.equal(d.fields['data_coding'], 0);
  t.equal(d.fields['esm_class'], 0x04);
});

t.test('known PDU fixture: bind_transceiver (SMPP 3.4)', async (t) => {
  const buf = encodePdu('bind_transceiver', 1, { system_id: 'xinge', password: 'secret', system_type: '', interface_version: 0x34 });
  t.equal(buf.toString('hex'), '00000022' + '00000009' + '00000000' + '00000001' + '78696e676500' + '73656372657400' + '00' + '34' + '00' + '00' + '00');
  const d = decodePdu(buf);
  t.same(d.fields, { system_id: 'xinge', password: 'secret', system_type: '', interface_version: 0x34, addr_ton: 0, addr_npi: 0, address_range: '' });
});

t.test('submit_sm_resp: id resp, error resp without body, large ids', async (t) => {
  const ok = encodeMessageIdResp(CommandId.submit_sm_resp, 0, 5, '1152921504606846976');
  t.equal(decodePdu(ok).fields['message_id'], '1152921504606846976');
  const err = encodeMessageIdResp(CommandId.submit_sm_resp, 0x58, 6, 'ignored');
  t.equal(err.length, 16, 'error resp is header only');
  const d = decodePdu(err);
  t.equal(d.commandStatus, 0x58);
  t.same(d.fields, {}, 'a resp may end at a field boundary');
});

t.test('decoder refuses malformed bodies with the status to answer', async (t) => {
  const good = encodePdu('deliver_sm', 3, { source_addr: '8613800138000', destination_addr: '1069', short_message: Buffer.from('hi') });
  // sm_length says 200, body has 2
  const badLen = Buffer.from(good);
  badLen[badLen.length - 3] = 200;
  t.throws(() => decodePdu(badLen), { code: 'smpp_decode', status: Status.ESME_RINVMSGLEN, sequenceNumber: 3 });
  // truncated in the middle of mandatory fields
  const trunc = Buffer.from(good.subarray(0, 24));
  trunc.writeUInt32BE(24, 0);
  t.throws(() => decodePdu(trunc), DecodeError);
  // C-string without terminator
  const noNul = Buffer.concat([encodeHeader(CommandId.bind_transceiver, 0, 4), Buffer.alloc(80, 0x41)]);
  noNul.writeUInt32BE(noNul.length, 0);
  t.throws(() => decodePdu(noNul), DecodeError);
  // TLV running past the end
  const badTlv = Buffer.concat([good, hex('001e0010414243')]);
  badTlv.writeUInt32BE(badTlv.length, 0);
  t.throws(() => decodePdu(badTlv), { code: 'smpp_decode', status: Status.ESME_RINVTLVSTREAM });
  // int TLV with the wrong length
  const badInt = Buffer.concat([good, hex('0427000200 05')]);
  badInt.writeUInt32BE(badInt.length, 0);
  t.throws(() => decodePdu(badInt), { code: 'smpp_decode', status: 0xc2 });
});

t.test('TLVs: known ones typed, unknown kept raw by tag', async (t) => {
  const buf = encodePdu('deliver_sm', 3, {
    source_addr: '8613800138000',
    destination_addr: '1069',
    esm_class: 4,
    short_message: Buffer.from('id:1 stat:DELIVRD'),
    receipted_message_id: 'ABC123',
    message_state: 2,
    network_error_code: Buffer.from([3, 0, 5]),
  });
  const withVendor = Buffer.concat([buf, hex('1401 0002 beef')]);
  withVendor.writeUInt32BE(withVendor.length, 0);
  const d = decodePdu(withVendor);
  t.equal(d.tlvs['receipted_message_id'], 'ABC123');
  t.equal(d.tlvs['message_state'], 2);
  t.equal((d.tlvs['network_error_code'] as Buffer).toString('hex'), '030005');
  t.equal((d.tlvs['0x1401'] as Buffer).toString('hex'), 'beef');
});

t.test('unknown command ids decode as unknown (the session answers generic_nack)', async (t) => {
  const d = decodePdu(encodeHeader(0x00000777, 0, 9));
  t.equal(d.command, 'unknown');
  t.equal(responseIdFor(0x00000777), undefined);
  t.equal(responseIdFor(CommandId.deliver_sm), CommandId.deliver_sm_resp);
});

t.test('encoders refuse what cannot go on the wire', async (t) => {
  const base = {
    sourceAddrTon: 0, sourceAddrNpi: 0, sourceAddr: '1', destAddrTon: 1, destAddrNpi: 1, destinationAddr: '86138',
    esmClass: 0, registeredDelivery: 0, dataCoding: 0,
  };
  t.throws(() => encodeSubmitSm(1, { ...base, shortMessage: Buffer.alloc(255) }), SmppError);
  t.equal(encodeSubmitSm(1, { ...base, shortMessage: Buffer.alloc(254) }).length > 254, true, '254 octets is fine');
  t.throws(() => encodeSubmitSm(1, { ...base, destinationAddr: '1'.repeat(21), shortMessage: Buffer.alloc(1) }), { code: 'smpp_encode' });
  t.throws(() => encodePdu('deliver_sm', 1, { short_message: Buffer.alloc(300) }), { code: 'smpp_encode' });
});

t.test('command_status names', async (t) => {
  t.equal(statusName(0), 'ESME_ROK');
  t.equal(statusName(0x58), 'ESME_RTHROTTLED');
  t.equal(statusName(0x14), 'ESME_RMSGQFUL');
  t.equal(statusName(0x0e), 'ESME_RINVPASWD');
  t.equal(statusName(0x0f), 'ESME_RINVSYSID');
  t.equal(statusName(0x0d), 'ESME_RBINDFAIL');
  t.equal(statusName(0x0b), 'ESME_RINVDSTADR');
  t.equal(statusName(0x08), 'ESME_RSYSERR');
  t.equal(statusName(0x401), 'ESME_0x00000401', 'vendor codes get a stable label');
  t.equal(statusCode('ESME_RTHROTTLED'), 0x58);
  t.equal(statusCode('ESME_0x00000401'), 0x401);
  t.equal(statusCode('nope'), undefined);
  t.ok(isAuthFailure(0x0e) && isAuthFailure(0x0f) && isAuthFailure(0x0d));
  t.notOk(isAuthFailure(0x58));
});
