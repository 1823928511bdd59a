/**
 * The bench's lean SMSC peer (bench/peers/lean-smsc.c, issue 19), compiled here and spoken
 * to over loopback with the project's own SMPP codec: bind, submit_sm → resp, the receipt
 * in the standard layout, enquire_link, unbind, and what it refuses.
 */
import t from 'tap';
import net from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { decodePdu, encodeHeader, encodePdu, encodeSubmitSm, fieldBuf, fieldNum, fieldStr, CommandId, type Pdu } from '../../src/carriers/smpp/codec.js';
import { PduFramer } from '../../src/carriers/smpp/framing.js';
import { parseReceipt } from '../../src/results/receipt-parse.js';
import { buildLeanSmsc, CompilerMissingError, startLeanSmsc, type LeanSmsc } from '../../bench/lib/lean-peer.js';

let bin: string | undefined;
const buildDir = mkdtempSync(path.join(tmpdir(), 'lean-smsc-test-'));
t.teardown(() => rmSync(buildDir, { recursive: true, force: true }));
try {
  bin = buildLeanSmsc(buildDir);
} catch (err) {
  if (!(err instanceof CompilerMissingError)) throw err;
}

/** A raw ESME: a socket, a framer, and a queue of decoded PDUs to await one by one. */
class Esme {
  readonly got: Pdu[] = [];
  #wake: (() => void) | undefined;
  closed = false;
  private constructor(readonly sock: net.Socket) {
    const framer = new PduFramer();
    sock.on('data', (chunk) => {
      for (const raw of framer.push(chunk)) this.got.push(decodePdu(Buffer.from(raw)));
      this.#wake?.();
    });
    sock.on('close', () => {
      this.closed = true;
      this.#wake?.();
    });
  }
  static async connect(port: number): Promise<Esme> {
    const sock = net.connect(port, '127.0.0.1');
    await new Promise<void>((resolve, reject) => sock.once('connect', resolve).once('error', reject));
    return new Esme(sock);
  }
  send(b: Buffer): void {
    this.sock.write(b);
  }
  async next(ms = 15000): Promise<Pdu> {
    const end = Date.now() + ms;
    while (this.got.length === 0) {
      if (this.closed) throw new Error('connection closed');
      if (Date.now() > end) throw new Error('no PDU in time');
      await new Promise<void>((r) => {
        this.#wake = r;
        setTimeout(r, 50);
      });
    }
    return this.got.shift()!;
  }
  async closedByPeer(ms = 15000): Promise<boolean> {
    const end = Date.now() + ms;
    while (!this.closed && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
    return this.closed;
  }
}

const bindFields = { system_id: 'xinge', password: 'secret', system_type: '', interface_version: 0x34, addr_ton: 0, addr_npi: 0, address_range: '' };
const submit = (seq: number, registeredDelivery: number, to = '8613800138000') =>
  encodeSubmitSm(seq, {
    sourceAddrTon: 0, sourceAddrNpi: 1, sourceAddr: '10690001', destAddrTon: 1, destAddrNpi: 1, destinationAddr: to,
    esmClass: 0, registeredDelivery, dataCoding: 8, shortMessage: Buffer.from('您的验证码是493817', 'utf16le').swap16(),
  });

async function peer(t: { teardown(fn: () => unknown): void }, receipts?: 'none' | 'requested' | 'all'): Promise<LeanSmsc> {
  const p = await startLeanSmsc({ bin: bin!, receipts });
  t.teardown(() => p.stop());
  return p;
}

async function bound(t: { teardown(fn: () => unknown): void }, port: number, command = 'bind_transceiver'): Promise<Esme> {
  const e = await Esme.connect(port);
  t.teardown(() => e.sock.destroy());
  e.send(encodePdu(command, 1, bindFields));
  const resp = await e.next();
  if (resp.command !== `${command}_resp` || resp.commandStatus !== 0) throw new Error(`bind answered ${resp.command} ${resp.commandStatus}`);
  return e;
}

t.test('lean SMSC peer', { skip: bin === undefined ? 'no C compiler (cc): the lean SMSC peer cannot be built here' : false }, async (t) => {
  t.test('bind, submit_sm → resp then a standard receipt, enquire_link, unbind', async (t) => {
    const p = await peer(t);
    const e = await Esme.connect(p.port);
    e.send(encodePdu('bind_transceiver', 1, bindFields));
    const bindResp = await e.next();
    t.equal(bindResp.command, 'bind_transceiver_resp');
    t.equal(bindResp.sequenceNumber, 1);
    t.equal(bindResp.commandStatus, 0);
    t.equal(fieldStr(bindResp, 'system_id'), 'lean');

    e.send(submit(2, 1));
    const resp = await e.next();
    t.equal(resp.command, 'submit_sm_resp');
    t.equal(resp.sequenceNumber, 2);
    t.equal(resp.commandStatus, 0);
    const id = fieldStr(resp, 'message_id');
    t.match(id, /^\d+$/);

    const dlr = await e.next();
    t.equal(dlr.command, 'deliver_sm');
    t.equal(fieldNum(dlr, 'esm_class'), 0x04, 'esm_class marks an SMSC delivery receipt');
    t.equal(fieldStr(dlr, 'source_addr'), '8613800138000', 'from the handset');
    t.equal(fieldNum(dlr, 'source_addr_ton'), 1);
    t.equal(fieldStr(dlr, 'destination_addr'), '10690001', 'to the sender');
    const text = fieldBuf(dlr, 'short_message').toString('latin1');
    t.match(text, new RegExp(`^id:${id} sub:001 dlvrd:001 submit date:\\d{10} done date:\\d{10} stat:DELIVRD err:000 text:$`));
    t.equal(dlr.tlvs.receipted_message_id, id);
    t.equal(dlr.tlvs.message_state, 2);
    const parsed = parseReceipt({ shortMessage: fieldBuf(dlr, 'short_message'), tlvs: { receiptedMessageId: dlr.tlvs.receipted_message_id as string, messageState: dlr.tlvs.message_state as number } });
    t.equal(parsed.stat, 'DELIVRD');
    t.equal(parsed.conflict, false);
    t.equal(parsed.id, id);
    t.equal(parsed.textStat, "DELIVRD", "the text alone says delivered too");
    e.send(encodeHeader(CommandId.deliver_sm_resp, 0, dlr.sequenceNumber));

    e.send(encodeHeader(CommandId.enquire_link, 0, 3));
    const el = await e.next();
    t.same([el.command, el.sequenceNumber, el.commandStatus], ['enquire_link_resp', 3, 0]);

    e.send(encodeHeader(CommandId.unbind, 0, 4));
    const ub = await e.next();
    t.same([ub.command, ub.sequenceNumber, ub.commandStatus], ['unbind_resp', 4, 0]);
    t.ok(await e.closedByPeer(), 'the peer closes after unbind_resp');

    const s = await p.stats();
    t.match(s, { binds: 1, submits: 1, receipts: 1, receipt_resps: 1, enquire_links: 1, unbinds: 1, receipts_dropped: 0 });
    t.ok(s.cpu_us > 0, 'reports its own CPU');
  });

  t.test('ids increase; a receipt only when asked for (requested), always (all), never (none)', async (t) => {
    const requested = await bound(t, (await peer(t)).port);
    requested.send(submit(2, 0));
    requested.send(submit(3, 1));
    const [r1, r2, dlr] = [await requested.next(), await requested.next(), await requested.next()];
    t.same([r1.command, r2.command, dlr.command], ['submit_sm_resp', 'submit_sm_resp', 'deliver_sm'], 'no receipt for registered_delivery 0');
    t.equal(Number(fieldStr(r2, 'message_id')), Number(fieldStr(r1, 'message_id')) + 1);
    t.equal(dlr.tlvs.receipted_message_id, fieldStr(r2, 'message_id'));

    const all = await bound(t, (await peer(t, 'all')).port);
    all.send(submit(2, 0));
    t.equal((await all.next()).command, 'submit_sm_resp');
    t.equal((await all.next()).command, 'deliver_sm');

    const none = await bound(t, (await peer(t, 'none')).port);
    none.send(submit(2, 1));
    none.send(encodeHeader(CommandId.enquire_link, 0, 3));
    t.same([(await none.next()).command, (await none.next()).command], ['submit_sm_resp', 'enquire_link_resp'], 'no receipt between them');
  });

  t.test("a transmitter's receipts go to a receiver bind", async (t) => {
    const p = await peer(t);
    const tx = await bound(t, p.port, 'bind_transmitter');
    const rx = await bound(t, p.port, 'bind_receiver');
    tx.send(submit(7, 1, '8613900000001'));
    const resp = await tx.next();
    t.equal(resp.command, 'submit_sm_resp');
    const dlr = await rx.next();
    t.equal(dlr.command, 'deliver_sm');
    t.equal(dlr.tlvs.receipted_message_id, fieldStr(resp, 'message_id'));
    t.equal(fieldStr(dlr, 'source_addr'), '8613900000001');
    rx.send(encodeHeader(CommandId.deliver_sm_resp, 0, dlr.sequenceNumber));
    rx.send(submit(8, 1));
    const refused = await rx.next();
    t.same([refused.command, refused.commandStatus], ['submit_sm_resp', 0x04], 'a receiver may not submit: ESME_RINVBNDSTS');
    t.match(await p.stats(), { submits: 1, receipts: 1, receipt_resps: 1 });
  });

  t.test('refusals: submit before bind, a second bind, an unknown command, a broken stream', async (t) => {
    const p = await peer(t);
    const e = await Esme.connect(p.port);
    t.teardown(() => e.sock.destroy());
    e.send(submit(1, 1));
    const early = await e.next();
    t.same([early.command, early.commandStatus, early.sequenceNumber], ['submit_sm_resp', 0x04, 1]);
    e.send(encodePdu('bind_transceiver', 2, bindFields));
    t.equal((await e.next()).commandStatus, 0);
    e.send(encodePdu('bind_transceiver', 3, bindFields));
    const again = await e.next();
    t.same([again.command, again.commandStatus], ['bind_transceiver_resp', 0x05], 'ESME_RALYBND');
    e.send(encodeHeader(0x00000103 /* data_sm */, 0, 4));
    const nack = await e.next();
    t.same([nack.command, nack.commandStatus, nack.sequenceNumber], ['generic_nack', 0x03, 4], 'ESME_RINVCMDID');
    const truncated = submit(5, 1).subarray(0, 30);
    truncated.writeUInt32BE(30, 0);
    e.send(truncated);
    const bad = await e.next();
    t.same([bad.command, bad.commandStatus], ['submit_sm_resp', 0x08], 'a submit_sm cut short: ESME_RSYSERR');
    const garbage = Buffer.alloc(16);
    garbage.writeUInt32BE(8, 0);
    e.send(garbage);
    t.ok(await e.closedByPeer(), 'a command_length under 16 closes the connection');
    const other = await bound(t, p.port);
    other.send(encodeHeader(CommandId.enquire_link, 0, 9));
    t.equal((await other.next()).command, 'enquire_link_resp', 'the peer keeps serving others');
  });

  t.test('many submits in one write: every resp and receipt, in order', async (t) => {
    const p = await peer(t);
    const e = await bound(t, p.port);
    const n = 2000;
    e.send(Buffer.concat(Array.from({ length: n }, (_, i) => submit(10 + i, 1))));
    const resps: number[] = [];
    const receipts = new Set<string>();
    while (resps.length + receipts.size < 2 * n) {
      const pdu = await e.next();
      if (pdu.command === 'submit_sm_resp') resps.push(pdu.sequenceNumber);
      else if (pdu.command === 'deliver_sm') {
        receipts.add(pdu.tlvs.receipted_message_id as string);
        e.send(encodeHeader(CommandId.deliver_sm_resp, 0, pdu.sequenceNumber));
      }
    }
    t.same(resps, Array.from({ length: n }, (_, i) => 10 + i));
    t.equal(receipts.size, n);
    e.send(encodeHeader(CommandId.enquire_link, 0, 1));
    t.equal((await e.next()).command, 'enquire_link_resp');
    t.match(await p.stats(), { submits: n, receipts: n, receipt_resps: n });
  });
});
