/**
 * What the lean SMSC peer costs (issue 19: at most 5 µs of CPU a message, receipts
 * included), measured alone: a raw client here keeps `window` submit_sm in flight on one
 * transceiver, each asking for a receipt, and answers every deliver_sm. The figure is the
 * peer's own CPU (/proc, its one thread) over the messages it both acknowledged and receipted.
 *
 *   npx tsx bench/peer-cost.ts [--quick]
 */
import net from 'node:net';
import { encodeHeader, encodePdu, encodeSubmitSm, readHeader, CommandId } from '../src/carriers/smpp/codec.js';
import { PduFramer } from '../src/carriers/smpp/framing.js';
import { startMeter } from './lib/cpu.js';
import { startLeanSmsc } from './lib/lean-peer.js';

export async function benchPeerCost(quick: boolean, window = 500): Promise<Record<string, number | string>> {
  // Ping-pong (window 1) is slow: fewer messages, so that it stays within seconds.
  const total = window === 1 ? (quick ? 5000 : 20000) : quick ? 50000 : 200000;
  const peer = await startLeanSmsc({ receipts: 'requested' });
  const sock = net.connect(peer.port, '127.0.0.1');
  sock.setNoDelay(true);
  try {
    await new Promise<void>((resolve, reject) => sock.once('connect', resolve).once('error', reject));
    const framer = new PduFramer();
    const template = encodeSubmitSm(0, {
      sourceAddrTon: 0, sourceAddrNpi: 1, sourceAddr: '10690000', destAddrTon: 1, destAddrNpi: 1, destinationAddr: '8613800138000',
      esmClass: 0, registeredDelivery: 1, dataCoding: 8, shortMessage: Buffer.from('尊敬的客户，您的借款将于明日到期，请按时还款。', 'utf16le').swap16(),
    });
    let sent = 0;
    let resps = 0;
    let receipts = 0;
    let bound = false;
    let finish!: () => void;
    const done = new Promise<void>((r) => (finish = r));
    let onBound!: () => void;
    const boundP = new Promise<void>((r) => (onBound = r));
    const sendMore = () => {
      const bufs: Buffer[] = [];
      while (sent < total && sent - resps < window) {
        const b = Buffer.from(template);
        b.writeUInt32BE(++sent + 1, 12);
        bufs.push(b);
      }
      if (bufs.length > 0) sock.write(Buffer.concat(bufs));
    };
    sock.on('data', (chunk) => {
      const acks: Buffer[] = [];
      for (const pdu of framer.push(chunk)) {
        const h = readHeader(pdu);
        if (h.commandId === CommandId.submit_sm_resp) resps++;
        else if (h.commandId === CommandId.deliver_sm) {
          receipts++;
          acks.push(encodeHeader(CommandId.deliver_sm_resp, 0, h.sequenceNumber));
        } else if (h.commandId === CommandId.bind_transceiver_resp && !bound) {
          bound = true;
          onBound();
        }
      }
      if (acks.length > 0) sock.write(Buffer.concat(acks));
      if (bound) sendMore();
      if (resps >= total && receipts >= total) finish();
    });
    sock.write(encodePdu('bind_transceiver', 1, { system_id: 'bench', password: 'x', system_type: '', interface_version: 0x34, addr_ton: 0, addr_npi: 0, address_range: '' }));
    await boundP;
    const meter = startMeter({ peer: peer.child.pid, client: 'self' });
    const t0 = performance.now();
    sendMore();
    await done;
    await new Promise((r) => setTimeout(r, 100)); // the last deliver_sm_resps reach the peer
    const s = await peer.stats();
    const figures = meter.stop(total, 'lean_');
    return {
      lean_messages: total,
      lean_window: window,
      lean_msgs_per_s: Math.round(total / ((performance.now() - t0 - 100) / 1000)),
      lean_receipts: s.receipts,
      lean_receipt_resps: s.receipt_resps,
      // The same from the peer's own getrusage, since it started (the bind included).
      lean_peer_rusage_us_per_msg: +(s.cpu_us / total).toFixed(2),
      ...figures,
    };
  } finally {
    sock.destroy();
    await peer.stop();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(await benchPeerCost(process.argv.includes('--quick')));
}
