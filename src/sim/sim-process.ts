/**
 * Child-process entry for the simulator (benchmarks run it in a separate process so it
 * does not share the client's event loop):
 *   node --import tsx src/sim/sim-process.ts '{"port":0,"recordLimit":0}'
 * Prints one JSON line `{"port":N}` on stdout when listening; exits on SIGTERM/SIGINT
 * or when its parent goes away (stdin closes).
 */
import { runSim, type RunSimOptions } from './run-sim.js';

const opts = JSON.parse(process.argv[2] ?? '{}') as RunSimOptions;
const handle = await runSim({ port: 0, ...opts });
process.stdout.write(`${JSON.stringify({ port: handle.port })}\n`);

let stopping = false;
const stop = (): void => {
  if (stopping) return;
  stopping = true;
  void handle.stop().finally(() => process.exit(0));
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
process.stdin.on('end', stop);
process.stdin.on('close', stop);
process.stdin.resume();
