/** SMPP server tests: the app with a sim carrier and smpp_server on a free port; ESMEs; a raw peer. */
import net from 'node:net';
import { SmppSession, type BindMode } from '../../src/carriers/smpp/session.js';
import { decodePdu, encodePdu, type Pdu, type SubmitSmFields } from '../../src/carriers/smpp/codec.js';
import { PduFramer } from '../../src/carriers/smpp/framing.js';
import { encodeUcs2 } from '../../src/encoding/index.js';
import { startSmppEnv, type CarrierSpec, type SmppTestEnv } from '../helpers/smpp-fixture.js';
import { freePort } from '../helpers/free-port.js';
export { freePort };

export const PASSWORD = 'pw-leg1';
export const SIG = '【测试】';


export interface ServerEnv {
  env: SmppTestEnv;
  port: number;
}

/** The app with carrier c1 on a simulator and smpp_server with the account `legacy`. */
export async function startServerEnv(
  t: { teardown(fn: () => unknown): void },
  opts: { account?: Record<string, unknown>; server?: Record<string, unknown>; carriers?: CarrierSpec[]; now?: () => number; level?: string; patch?: (cfg: Record<string, unknown>) => void } = {},
): Promise<ServerEnv> {
  const port = await freePort();
  const env = await startSmppEnv(
    t,
    opts.carriers ?? [{ id: 'c1' }],
    (cfg) => {
      cfg.smpp_server = {
        host: '127.0.0.1',
        port,
        idle_timeout_s: 60,
        response_timeout_s: 2,
        accounts: [{ system_id: 'legacy', password: PASSWORD, free_text: true, tps: 1000, window: 10, ...opts.account }],
        ...opts.server,
      };
      opts.patch?.(cfg);
    },
    { ...(opts.now ? { now: opts.now } : {}), ...(opts.level ? { level: opts.level } : {}) },
  );
  return { env, port };
}

export function esme(port: number, mode: BindMode, over: Partial<ConstructorParameters<typeof SmppSession>[0]> = {}): SmppSession {
  return new SmppSession({
    host: '127.0.0.1',
    port,
    mode,
    systemId: 'legacy',
    password: PASSWORD,
    window: 10,
    responseTimeoutMs: 5000,
    enquireLinkMs: 60000,
    ...over,
  });
}

/** submit_sm fields for a text in UCS-2 (or raw user data) to a Chinese mobile. */
export function sm(to: string, userData: Buffer, over: Partial<SubmitSmFields> = {}): SubmitSmFields {
  return {
    sourceAddrTon: 0,
    sourceAddrNpi: 0,
    sourceAddr: '1234',
    destAddrTon: 1,
    destAddrNpi: 1,
    destinationAddr: to,
    esmClass: 0,
    registeredDelivery: 1,
    dataCoding: 8,
    shortMessage: userData,
    ...over,
  };
}

/** A text cut in `n` UCS-2 parts of `size` characters behind 8-bit-reference UDHs. */
export function udhParts(text: string, n: number, ref: number, size = Math.ceil(text.length / n)): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < n; i++) {
    const body = encodeUcs2(text.slice(i * size, (i + 1) * size));
    out.push(Buffer.concat([Buffer.from([0x05, 0x00, 0x03, ref, n, i + 1]), body]));
  }
  return out;
}

/** A hand-driven SMPP peer over a raw socket: sends what a test says, reads PDUs as they come. */
export class RawPeer {
  readonly socket: net.Socket;
  readonly received: Pdu[] = [];
  readonly closed: Promise<void>;
  readonly #framer = new PduFramer();
  #waiters: Array<() => void> = [];

  private constructor(socket: net.Socket) {
    this.socket = socket;
    this.closed = new Promise((r) => socket.once('close', () => r()));
    socket.on('error', () => undefined);
    socket.on('data', (chunk: Buffer) => {
      for (const buf of this.#framer.push(chunk)) this.received.push(decodePdu(Buffer.from(buf)));
      for (const w of this.#waiters.splice(0)) w();
    });
  }

  static async connect(port: number): Promise<RawPeer> {
    const socket = net.connect({ host: '127.0.0.1', port });
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    return new RawPeer(socket);
  }

  send(command: string, seq: number, fields: Record<string, unknown> = {}, status = 0): void {
    this.socket.write(encodePdu(command, seq, fields, status));
  }

  write(bytes: Buffer): void {
    this.socket.write(bytes);
  }

  /** The first received PDU matching `pred` (waits for it). */
  async next(pred: (p: Pdu) => boolean, timeoutMs = 5000): Promise<Pdu> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.received.find(pred);
      if (found !== undefined) return found;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error('timed out waiting for a PDU');
      await new Promise<void>((r) => {
        const timer = setTimeout(r, left);
        this.#waiters.push(() => {
          clearTimeout(timer);
          r();
        });
      });
    }
  }

  destroy(): void {
    this.socket.destroy();
  }
}

/** Every deliver_sm the session gets, answered with `status(n)` (n counts from 0; default ESME_ROK). */
export function collectDelivers(s: SmppSession, status: (n: number) => number = () => 0): Pdu[] {
  const got: Pdu[] = [];
  s.on('deliver', (pdu, ack) => ack(status(got.push(pdu) - 1)));
  return got;
}

export async function scrape(env: SmppTestEnv): Promise<string> {
  const r = await env.app.http.inject({ method: 'GET', url: '/metrics' });
  return r.body;
}
