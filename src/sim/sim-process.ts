/**
 * Child-process entry for the simulator (benchmarks and multi-process tests run it in a
 * separate process so it does not share the client's event loop):
 *   node --import tsx src/sim/sim-process.ts '{"port":0,"recordLimit":0,"httpPort":0}'
 * Prints one JSON line `{"port":N}` on stdout when listening (`{"port":N,"httpPort":M}` with
 * httpPort: the simulator's HTTP port, whose GET /sim/accounts gives the binds and submit
 * rate per system_id); exits on SIGTERM/SIGINT or when its parent goes away (stdin closes).
 */
import { runSim, type RunSimOptions } from './run-sim.js';
import { startSimWeb, type SimWeb } from './web-server.js';

const { httpPort, ...opts } = JSON.parse(process.argv[2] ?? '{}') as RunSimOptions & { httpPort?: number };
const handle = await runSim({ port: 0, ...opts });
let web: SimWeb | undefined;
if (httpPort !== undefined) web = await startSimWeb(handle.sim, { host: handle.sim.options.host, port: httpPort });
process.stdout.write(`${JSON.stringify({ port: handle.port, ...(web !== undefined ? { httpPort: web.port } : {}) })}\n`);

let stopping = false;
const stop = (): void => {
  if (stopping) return;
  stopping = true;
  void Promise.all([web?.stop(), handle.stop()]).finally(() => process.exit(0));
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
process.stdin.on('end', stop);
process.stdin.on('close', stop);
process.stdin.resume();
