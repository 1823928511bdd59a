/**
 * The drain (SIGTERM) as an ordered list of named steps, run one after the other; the step
 * under way is readable (a drain that overruns its deadline says where it hung). A step that
 * throws fails the drain (the daemon reports it and exits 1).
 */
import type { FastifyInstance } from 'fastify';
import { settlesWithin } from '../domain/settles-within.js';

export interface DrainStep {
  name: string;
  run: () => unknown;
}

export class Drain {
  #step: string | undefined;
  #promise: Promise<void> | undefined;
  #started = false;

  get step(): string | undefined {
    return this.#step;
  }

  /** True from the moment a drain begins (intake answers 503 draining from then on). */
  get started(): boolean {
    return this.#started;
  }

  /** Idempotent: a second SIGTERM (or a test teardown) waits for the same drain. */
  run(steps: () => DrainStep[]): Promise<void> {
    this.#started = true;
    this.#promise ??= (async () => {
      for (const s of steps()) {
        this.#step = s.name;
        await s.run();
      }
      this.#step = 'done';
    })();
    return this.#promise;
  }
}

/**
 * Node 20's server.close() reaps only the keep-alive sockets idle at that instant: a socket
 * whose request was in flight then, or one that connected and never sent a request, stays
 * open until fastify's 72 s keepAliveTimeout and the close waits for it (seen as a drain
 * hung at 'HTTP close'). Intake has answered 503 since the drain began, so what is left
 * after a short wait is idle sockets: they are cut.
 */
const HTTP_CLOSE_WAIT_MS = 1000;
export async function closeHttp(http: FastifyInstance): Promise<void> {
  const closed = http.close();
  if (!(await settlesWithin(closed, HTTP_CLOSE_WAIT_MS))) http.server.closeAllConnections();
  await closed;
}
