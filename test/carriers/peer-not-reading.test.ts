/**
 * A peer that sends and does not read: every request it sends queues a resp in the daemon,
 * and without a bound the daemon buffered them all (tens of MB for a flood of enquire_links;
 * a peer that keeps going takes the process down). Both sides of the daemon are tried, each
 * with the daemon in a process of its own so its RSS is its own:
 * - an ESME bound to the SMPP server floods enquire_link and stops reading;
 * - a carrier's SMSC (a small hostile one here) floods enquire_link at the daemon's bind and
 *   stops reading.
 * The daemon stops reading from such a peer once about 1 MiB of resps wait for it (TCP flow
 * control then holds the peer's sends, so its memory stays bounded; its RSS growth is printed,
 * not asserted: it counts garbage not yet collected, which differs between Node versions), and
 * nothing is lost: when the peer reads again every request gets its resp, in order, and the
 * connection goes on.
 */
import t, { type Test } from 'tap';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { CommandId, encodeHeader, encodePdu, readHeader as decodeHeader } from '../../src/carriers/smpp/codec.js';
import { PduFramer } from '../../src/carriers/smpp/framing.js';
import { MAX_UNANSWERED_DELIVERS, SmppSession } from '../../src/carriers/smpp/session.js';
import { tempDir } from '../helpers/fixtures.js';
import { startReady } from '../helpers/kill-under-load.js';
import { daemonConfig, freePort } from '../foundation/fixtures/daemon.js';

t.setTimeout(180_000);

/** 4,000,000 enquire_link (64 MB); each asks for a 16-octet resp. */
const FLOOD = 4_000_000;

function rss(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m === null ? 0 : Number(m[1]) * 1024;
}

/** Whether what the socket holds was taken within `ms` (its 'drain'): false, the other side stopped reading. */
function drainedWithin(socket: net.Socket, ms: number): Promise<boolean> {
  return new Promise<boolean>((resolve) => {
    const onDrain = (): void => {
      clearTimeout(timer);
      resolve(true);
    };
    const timer = setTimeout(() => {
      socket.off('drain', onDrain);
      resolve(false);
    }, ms);
    socket.once('drain', onDrain);
  });
}

/**
 * The flood, 64 KB a write, each write after the last was taken (TCP flow control, as a peer
 * with a socket library does). Stops when a write is not taken within 2 s: the daemon no
 * longer reads. `taken` is what went into the kernel's buffers on the way to the daemon or was
 * read by it; `rest` writes what is left (without waiting) once the peer reads again.
 */
async function floodUntilHeld(socket: net.Socket, firstSeq: number): Promise<{ taken: number; rest: () => void }> {
  const PER_WRITE = 4096;
  const chunk = (from: number): Buffer => {
    const n = Math.min(PER_WRITE, FLOOD - from);
    const b = Buffer.alloc(n * 16);
    for (let i = 0; i < n; i++) encodeHeader(CommandId.enquire_link, 0, firstSeq + from + i).copy(b, i * 16);
    return b;
  };
  let from = 0;
  let taken = 0;
  while (from < FLOOD) {
    const b = chunk(from);
    from += b.length / 16;
    if (socket.write(b)) {
      taken += b.length;
      continue;
    }
    if (!(await drainedWithin(socket, 2000))) break;
    taken += b.length;
  }
  return {
    taken,
    rest: () => {
      for (; from < FLOOD; ) {
        const b = chunk(from);
        from += b.length / 16;
        socket.write(b);
      }
    },
  };
}

/**
 * Reads the peer's side once it reads again: counts the enquire_link_resps for seqs
 * firstSeq.. in order; other PDUs (the daemon's own enquire_links) are answered.
 */
function countResps(socket: net.Socket, firstSeq: number): { done: Promise<void>; got(): number; outOfOrder(): number } {
  const framer = new PduFramer();
  let next = firstSeq;
  let got = 0;
  let outOfOrder = 0;
  let resolve!: () => void;
  const done = new Promise<void>((r) => (resolve = r));
  socket.on('data', (chunk: Buffer) => {
    for (const buf of framer.push(chunk)) {
      const h = decodeHeader(Buffer.from(buf));
      if (h.commandId === CommandId.enquire_link_resp && h.sequenceNumber >= firstSeq) {
        if (h.sequenceNumber !== next) outOfOrder++;
        next = h.sequenceNumber + 1;
        if (++got === FLOOD) resolve();
      } else if (h.commandId === CommandId.enquire_link) {
        socket.write(encodeHeader(CommandId.enquire_link_resp, 0, h.sequenceNumber));
      }
    }
  });
  return { done, got: () => got, outOfOrder: () => outOfOrder };
}

/**
 * Taken at most: what the kernel's socket buffers hold on the way (the peer's send buffer and
 * the daemon's receive buffer grow to 4 and 32 MB, tcp_wmem and tcp_rmem) plus the 1 MiB of
 * answers after which the daemon stops reading. Reading on, it takes the whole 64 MB.
 */
const TAKEN_MAX = 48 * 1024 * 1024;

/**
 * The flood at a peer that stopped reading, then the peer reads again: the daemon takes at
 * most TAKEN_MAX of it meanwhile, and answers every request, in order, afterwards.
 */
async function floodHeldThenAnswered(t: Test, socket: net.Socket, pid: number, firstSeq: number, peer: string): Promise<void> {
  socket.pause(); // from here on the peer does not read
  const base = rss(pid);
  const flood = await floodUntilHeld(socket, firstSeq);
  t.ok(flood.taken < TAKEN_MAX, `the daemon stopped taking requests after ${(flood.taken / 1e6).toFixed(1)} of 64 MB (its answers were not read)`);
  t.comment(`the daemon's RSS grew ${((rss(pid) - base) / 1048576).toFixed(1)} MB`);
  flood.rest();
  const counted = countResps(socket, firstSeq);
  socket.resume();
  await counted.done;
  t.equal(counted.got(), FLOOD, `every enquire_link answered once the ${peer} reads again`);
  t.equal(counted.outOfOrder(), 0, 'in order');
}

t.test('an ESME on the SMPP server that floods and does not read', async (t) => {
  const dir = tempDir(t);
  const [httpPort, serverPort, simPort] = [await freePort(), await freePort(), await freePort()];
  const cfg = daemonConfig(dir, httpPort, simPort) as Record<string, any>;
  cfg.smpp_server = {
    host: '127.0.0.1',
    port: serverPort,
    idle_timeout_s: 120,
    accounts: [{ system_id: 'legacy', password: 'pw-legacy-1', free_text: true, tps: 1000, window: 10 }],
  };
  const d = await startReady(t, dir, 'esme-flood', cfg, httpPort);
  const pid = d.child.pid!;

  const socket = net.connect({ host: '127.0.0.1', port: serverPort });
  t.teardown(() => socket.destroy());
  await new Promise<void>((r) => socket.once('connect', () => r()));
  socket.write(encodePdu('bind_transceiver', 1, { system_id: 'legacy', password: 'pw-legacy-1' }));
  const bindResp = await new Promise<Buffer>((r) => socket.once('data', (b: Buffer) => r(b)));
  t.equal(decodeHeader(bindResp).commandStatus, 0, 'bound');

  await floodHeldThenAnswered(t, socket, pid, 2, 'ESME');
  const answered = new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => resolve(false), 10_000);
    socket.on('data', function check(b: Buffer) {
      if (b.includes(encodeHeader(CommandId.enquire_link_resp, 0, FLOOD + 2))) {
        socket.off('data', check);
        clearTimeout(timer);
        resolve(true);
      }
    });
  });
  socket.write(encodeHeader(CommandId.enquire_link, 0, FLOOD + 2));
  t.ok(await answered, 'the bind goes on: a request after the flood is answered');
});

t.test("a carrier's SMSC that floods the daemon's bind and does not read", async (t) => {
  const dir = tempDir(t);
  const httpPort = await freePort();
  let peer: net.Socket | undefined;
  const connected = new Promise<net.Socket>((resolve) => {
    const server = net.createServer((s) => {
      if (peer !== undefined) {
        s.destroy(); // one bind only: a reconnect would mean the daemon gave up on this one
        return;
      }
      peer = s;
      const framer = new PduFramer();
      s.on('data', function onBind(chunk: Buffer) {
        for (const buf of framer.push(chunk)) {
          const h = decodeHeader(Buffer.from(buf));
          if (h.commandId === CommandId.bind_transceiver || h.commandId === CommandId.bind_transmitter) {
            s.off('data', onBind);
            s.write(encodePdu(h.commandId === CommandId.bind_transceiver ? 'bind_transceiver_resp' : 'bind_transmitter_resp', h.sequenceNumber, { system_id: 'smsc' }));
            resolve(s);
          }
        }
      });
    });
    server.listen(0, '127.0.0.1');
    t.teardown(() => {
      peer?.destroy();
      server.close();
    });
    server.once('listening', () => (smscPort = (server.address() as net.AddressInfo).port));
  });
  let smscPort = 0;
  while (smscPort === 0) await new Promise((r) => setTimeout(r, 10));
  const cfg = daemonConfig(dir, httpPort, smscPort, { simulator: { enabled: false } }) as Record<string, any>;
  // Long timeouts: the daemon's own enquire_links go unanswered while the SMSC does not read.
  Object.assign(cfg.carriers[0], { enquire_link_s: 60, response_timeout_s: 60 });
  const d = await startReady(t, dir, 'smsc-flood', cfg, httpPort);
  const pid = d.child.pid!;
  const socket = await connected;
  await new Promise((r) => setTimeout(r, 200)); // the daemon is bound

  await floodHeldThenAnswered(t, socket, pid, 0x10000, 'SMSC');
  t.notOk(socket.destroyed, 'the same bind, never dropped');
});

t.test('an SMSC that sends deliver_sm without waiting for their resps, while none can be committed', async (t) => {
  // The bind's owner holds every delivery (a store that is not answering): each stays unanswered.
  const DELIVERS = 100_000;
  let peer: net.Socket | undefined;
  const server = net.createServer((s) => {
    peer = s;
    const framer = new PduFramer();
    s.on('data', function onBind(chunk: Buffer) {
      for (const buf of framer.push(chunk)) {
        const h = decodeHeader(Buffer.from(buf));
        if (h.commandId === CommandId.bind_transceiver) {
          s.off('data', onBind);
          s.write(encodePdu('bind_transceiver_resp', h.sequenceNumber, { system_id: 'smsc' }));
        }
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  t.teardown(() => {
    peer?.destroy();
    server.close();
  });
  const session = new SmppSession({
    host: '127.0.0.1', port: (server.address() as net.AddressInfo).port, mode: 'transceiver', systemId: 'xinge', password: 'secret',
    window: 10, responseTimeoutMs: 60_000, enquireLinkMs: 120_000,
  });
  const held: Array<(status?: number) => void> = [];
  let answerAtOnce = false;
  session.on('deliver', (_pdu, ack) => (answerAtOnce ? ack(0) : held.push(ack)));
  await session.connect();
  t.teardown(() => session.close());
  const socket = peer!;

  // The SMSC's side: deliver_sm as fast as the bind takes them, counting the resps.
  let resps = 0;
  const framer = new PduFramer();
  socket.on('data', (chunk: Buffer) => {
    for (const buf of framer.push(chunk)) if (decodeHeader(Buffer.from(buf)).commandId === CommandId.deliver_sm_resp) resps++;
  });
  const pdu = (seq: number) => encodePdu('deliver_sm', seq, { source_addr: '13800138000', destination_addr: '10690000', esm_class: 4, short_message: Buffer.from(`id:${seq} sub:001 dlvrd:001 submit date:2612070000 done date:2612070000 stat:DELIVRD err:000 text:`) });
  let sent = 0;
  let stalled = false;
  while (sent < DELIVERS) {
    const batch: Buffer[] = [];
    for (let i = 0; i < 500 && sent < DELIVERS; i++) batch.push(pdu(++sent));
    if (socket.write(Buffer.concat(batch))) continue;
    if (!(await drainedWithin(socket, 2000))) {
      stalled = true;
      break;
    }
  }
  t.ok(stalled, `the bind stopped reading (the SMSC had written ${sent} of ${DELIVERS})`);
  // What one read can carry past the mark (a 64 KB chunk of ~130-octet PDUs) is still handled.
  t.ok(held.length <= MAX_UNANSWERED_DELIVERS + 600, `${held.length} deliveries taken while none was answered (at most ${MAX_UNANSWERED_DELIVERS} and the rest of one read)`);

  // The store answers again: everything is read and answered, nothing lost.
  answerAtOnce = true;
  for (const ack of held.splice(0)) ack(0);
  while (sent < DELIVERS) {
    const batch: Buffer[] = [];
    for (let i = 0; i < 500 && sent < DELIVERS; i++) batch.push(pdu(++sent));
    socket.write(Buffer.concat(batch));
  }
  const until = Date.now() + 60_000;
  while (resps < DELIVERS && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
  t.equal(resps, DELIVERS, 'every deliver_sm answered once the store answers');
  t.equal(session.state, 'bound', 'the same bind');
});
