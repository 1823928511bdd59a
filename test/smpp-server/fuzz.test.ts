/**
 * A hostile ESME, randomized (fast-check): on a bound connection of the SMPP server it sends
 * PDUs with a correct command_length and anything else random: known and unknown command
 * ids, random bodies, and submit_sm / data_sm built from random fields (esm_class with and
 * without UDHI, any data_coding, user data of any length, SAR and payload TLVs that disagree
 * with the rest). Every request gets exactly one answer (its own resp or generic_nack), the
 * connection stays up, and afterwards a healthy bind still submits and the daemon is ready.
 */
import t from 'tap';
import fc from 'fast-check';
import { CommandId, RESPONSE_BIT, encodeHeader, isResponseId, type Pdu } from '../../src/carriers/smpp/codec.js';
import { encodeUcs2 } from '../../src/encoding/index.js';
import { waitFor } from '../helpers/fixtures.js';
import { cstrArb, rawPdu, tlvBytes } from '../helpers/pdu-fuzz.js';
import { esme, PASSWORD, RawPeer, SIG, sm, startServerEnv } from './helpers.js';

// Not in CommandId (the gateway does not send them), but a peer may.
const DATA_SM = 0x00000103;
const REQUESTS = [
  CommandId.submit_sm,
  DATA_SM,
  0x00000021 /* submit_multi */,
  0x00000003 /* query_sm */,
  0x00000008 /* cancel_sm */,
  0x00000007 /* replace_sm */,
  CommandId.enquire_link,
  CommandId.bind_transceiver,
  CommandId.bind_transmitter,
  CommandId.deliver_sm,
  0x0000000b /* outbind */,
];
// Sent by the peer without being asked: no answer is due, the connection must stay.
const UNASKED = [CommandId.deliver_sm_resp, CommandId.generic_nack, CommandId.submit_sm_resp, CommandId.enquire_link_resp, 0x00000102 /* alert_notification */];

const cstr = (max: number) => cstrArb(max, ['', '1', '10690000', '13800138000']);

const tlv = fc.oneof(
  // sar_msg_ref_num, sar_total_segments, sar_segment_seqnum, message_payload, source_port,
  // user_message_reference, payload_type, or any tag; lengths right or wrong.
  fc.record({ tag: fc.constantFrom(0x020c, 0x020e, 0x020f, 0x0424, 0x020a, 0x0204, 0x0019, 0x1401), value: fc.uint8Array({ maxLength: 300 }) }),
  fc.record({ tag: fc.integer({ min: 0, max: 0xffff }), value: fc.uint8Array({ maxLength: 8 }) }),
);

const userData = fc.oneof(
  fc.uint8Array({ maxLength: 254 }).map((a) => Buffer.from(a)),
  // A UDH that may claim more than it has, then UCS-2 or random octets.
  fc.record({ udhl: fc.integer({ min: 0, max: 20 }), ie: fc.uint8Array({ maxLength: 12 }), body: fc.uint8Array({ maxLength: 140 }) }).map(({ udhl, ie, body }) =>
    Buffer.concat([Buffer.from([udhl]), Buffer.from(ie), Buffer.from(body)]).subarray(0, 254),
  ),
  fc.string({ maxLength: 80 }).map((s) => encodeUcs2(`${SIG}${s}`).subarray(0, 254)),
);

/** A submit_sm/data_sm body from random fields; the layout is SMPP 3.4's. */
const messageBody = fc
  .record({
    data: fc.boolean(),
    service: cstr(6),
    ton: fc.integer({ min: 0, max: 255 }),
    src: cstr(21),
    dst: fc.oneof(fc.constantFrom('13800138000', '8613900139000', '+8613700137000', '', '0').map((s) => Buffer.from(`${s}\0`)), cstr(21)),
    esm: fc.oneof(fc.constantFrom(0, 0x40, 0x04, 0x43), fc.integer({ min: 0, max: 255 })),
    registered: fc.integer({ min: 0, max: 255 }),
    dcs: fc.oneof(fc.constantFrom(0, 3, 8, 15, 0xf0), fc.integer({ min: 0, max: 255 })),
    times: fc.array(cstr(17), { minLength: 2, maxLength: 2 }),
    ud: userData,
    tlvs: fc.array(tlv, { maxLength: 4 }),
  })
  .map((f) => {
    const tl = tlvBytes(f.tlvs);
    if (f.data) {
      // data_sm: service_type, src ton/npi/addr, dst ton/npi/addr, esm_class, registered_delivery, data_coding.
      return { id: DATA_SM, body: Buffer.concat([f.service, Buffer.from([f.ton, 1]), f.src, Buffer.from([1, 1]), f.dst, Buffer.from([f.esm, f.registered, f.dcs]), tl]) };
    }
    const body = Buffer.concat([
      f.service,
      Buffer.from([f.ton, 1]),
      f.src,
      Buffer.from([1, 1]),
      f.dst,
      Buffer.from([f.esm, 0, 0]),
      f.times[0]!,
      f.times[1]!,
      Buffer.from([f.registered, 0, f.dcs, 0, f.ud.length]),
      f.ud,
      tl,
    ]);
    return { id: CommandId.submit_sm, body };
  });

const hostilePdu = fc.oneof(
  { weight: 3, arbitrary: messageBody },
  { weight: 1, arbitrary: fc.record({ id: fc.constantFrom(...REQUESTS, ...UNASKED), body: fc.uint8Array({ maxLength: 200 }).map((a) => Buffer.from(a)) }) },
  // Any id but unbind: the server answers unbind_resp and closes, as it must (fast-check
  // favours small integers, so 6 comes up; CI drew it once).
  { weight: 1, arbitrary: fc.record({ id: fc.integer({ min: 0, max: 0xffffffff }).filter((id) => id !== CommandId.unbind), body: fc.uint8Array({ maxLength: 40 }).map((a) => Buffer.from(a)) }) },
);

t.test('a hostile ESME with random PDUs: one answer per request, the connection and the daemon stay up', async (t) => {
  const { env, port } = await startServerEnv(t);
  await waitFor(() => env.app.carriers.get('c1')!.connector.isUp(), 5000, 'carrier bound');
  const raw = await RawPeer.connect(port);
  t.teardown(() => raw.destroy());
  raw.send('bind_transceiver', 1, { system_id: 'legacy', password: PASSWORD });
  t.equal((await raw.next((p) => p.sequenceNumber === 1)).commandStatus, 0, 'bound');
  let closed = false;
  void raw.closed.then(() => (closed = true));

  let seq = 100;
  let sent = 0;
  let answered = 0;
  await fc.assert(
    fc.asyncProperty(fc.array(hostilePdu, { minLength: 1, maxLength: 4 }), async (pdus) => {
      const asked: Array<{ s: number; id: number }> = [];
      for (const { id, body } of pdus) {
        const s = ++seq;
        raw.write(rawPdu(id, s, body));
        sent++;
        if (!isResponseId(id >>> 0) && id !== 0x00000102) asked.push({ s, id: id >>> 0 });
      }
      // A marker the server must answer after the PDUs above: everything before it was read.
      const marker = ++seq;
      raw.write(encodeHeader(CommandId.enquire_link, 0, marker));
      const answers = async (s: number): Promise<Pdu[]> => {
        await raw.next((p) => p.sequenceNumber === s, 10000);
        return raw.received.filter((p) => p.sequenceNumber === s);
      };
      await answers(marker);
      for (const { s, id } of asked) {
        const got = await answers(s);
        if (got.length !== 1) throw new Error(`seq ${s}: ${got.length} answers`);
        const a = got[0]!;
        if (a.command !== 'generic_nack' && a.commandId !== ((id | RESPONSE_BIT) >>> 0)) throw new Error(`seq ${s}: ${a.command} does not answer 0x${id.toString(16)}`);
        answered++;
      }
      if (closed) throw new Error('the server closed the connection');
    }),
    { numRuns: Number(process.env.XINGE_FUZZ_RUNS ?? 150), endOnFailure: true },
  );
  t.comment(`${sent} hostile PDUs, ${answered} requests answered once each`);
  t.notOk(closed, 'the hostile connection is still up');

  const healthy = esme(port, 'transceiver');
  await healthy.connect();
  t.teardown(() => healthy.close());
  const o = await healthy.submit(sm('13800138000', encodeUcs2(`${SIG}还款提醒`)));
  t.equal(o.kind, 'accepted', 'a healthy bind still submits');
  const ready = await env.app.http.inject({ method: 'GET', url: '/readyz' });
  t.equal(ready.statusCode, 200, 'the daemon is ready');
});
