/**
 * A port for a test's daemon, simulator or PostgreSQL to listen on later.
 *
 * Not `listen(0)`: that hands out a port from the kernel's ephemeral range, the range every
 * outgoing connection of the other test files running in parallel takes its local port from,
 * so by the time the daemon binds it a client socket may hold it (CI saw "port … is already
 * in use"). These ports come from below that range (Linux: 32768–60999), at random, each
 * checked bindable and never handed out twice by one process.
 */
import { createServer } from 'node:net';

const LOW = 20000;
const HIGH = 32767;
const handedOut = new Set<number>();

function tryListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.unref();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

export async function freePort(): Promise<number> {
  for (let i = 0; i < 1000; i++) {
    const port = LOW + Math.floor(Math.random() * (HIGH - LOW + 1));
    if (handedOut.has(port)) continue;
    if (await tryListen(port)) {
      handedOut.add(port);
      return port;
    }
  }
  throw new Error(`no free port in ${LOW}–${HIGH}`);
}
