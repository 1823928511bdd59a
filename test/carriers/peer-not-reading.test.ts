/**
 * A peer that sends and does not read: every request it sends queues a resp in the daemon,
 * and without a bound the daemon buffered them all (tens of MB for a flood of enquire_links;
 * a peer that keeps going takes the process down). Both sides of the daemon are tried, each
 * with the daemon in a process of its own so its RSS is its own:
 * - an ESME bound to the SMPP server floods enquire_link and stops reading;
 * - a carrier's SMSC (a small hostile one here) floods enquire_link at the daemon's bind and
 *   stops reading.
 * The daemon stops reading from such a peer once about 1 MiB of resps wait for it (TCP flow
 * control then holds the peer's sends), its RSS stays bounded, and nothing is lost: when the
 * peer reads again every request gets its resp, in order, and the connection goes on.
 */
import t from 'tap';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { CommandId, encodeHeader, encodePdu, readHeader as decodeHeader } from '../../src/carriers/smpp/codec.js';
import { PduFramer } from '../../src/carriers/smpp/framing.js';
import { tempDir } from '../helpers/fixtures.js';
import { startReady } from '../helpers/kill-under-load.js';
import { daemonConfig, freePort } from '../foundation/fixtures/daemon.js';

t.setTimeout(180_000);

/** 4,000,000 enquire_link (64 MB); each asks for a 16-octet resp. */
const FLOOD = 4_000_000;
/** RSS growth allowed while the flood is held (15-19 MB measured; buffering it all added 145-185 MB in 4 s). */
const RSS_GROWTH_MAX = 48 * 1024 * 1024;

function rss(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m === null ? 0 : Number(m[1]) * 1024;
}

function flood(firstSeq: number): Buffer {
  const b = Buffer.alloc(FLOOD * 16);
  for (let i = 0; i < FLOOD; i++) encodeHeader(CommandId.enquire_link, 0, firstSeq + i).copy(b, i * 16);
  return b;
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

/** Samples the daemon's RSS while the flood is refused; the largest growth over the start. */
async function worstGrowth(pid: number, base: number, ms: number): Promise<number> {
  let worst = 0;
  const until = Date.now() + ms;
  while (Date.now() < until) {
    worst = Math.max(worst, rss(pid) - base);
    await new Promise((r) => setTimeout(r, 100));
  }
  return worst;
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

  socket.pause(); // from here on the ESME does not read
  const base = rss(pid);
  socket.write(flood(2));
  const growth = await worstGrowth(pid, base, 4000);
  t.ok(growth < RSS_GROWTH_MAX, `the daemon's RSS grew ${(growth / 1048576).toFixed(1)} MB while 64 MB of requests waited (not read past ~1 MiB of unsent resps)`);
  t.comment(`the ESME's sends held by flow control: ${(socket.writableLength / 1048576).toFixed(1)} MB not yet taken`);

  const counted = countResps(socket, 2);
  socket.resume();
  await counted.done;
  t.equal(counted.got(), FLOOD, 'every enquire_link answered once the ESME reads again');
  t.equal(counted.outOfOrder(), 0, 'in order');
  socket.write(encodeHeader(CommandId.enquire_link, 0, FLOOD + 2));
  await new Promise<void>((resolve) =>
    socket.on('data', function check(b: Buffer) {
      if (b.includes(encodeHeader(CommandId.enquire_link_resp, 0, FLOOD + 2))) {
        socket.off('data', check);
        resolve();
      }
    }),
  );
  t.pass('the bind goes on');
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

  socket.pause();
  const base = rss(pid);
  socket.write(flood(0x10000));
  const growth = await worstGrowth(pid, base, 4000);
  t.ok(growth < RSS_GROWTH_MAX, `the daemon's RSS grew ${(growth / 1048576).toFixed(1)} MB while 64 MB of requests waited`);
  t.comment(`the SMSC's sends held by flow control: ${(socket.writableLength / 1048576).toFixed(1)} MB not yet taken`);

  const counted = countResps(socket, 0x10000);
  socket.resume();
  await counted.done;
  t.equal(counted.got(), FLOOD, 'every enquire_link answered once the SMSC reads again');
  t.equal(counted.outOfOrder(), 0, 'in order');
  t.notOk(socket.destroyed, 'the same bind, never dropped');
});
