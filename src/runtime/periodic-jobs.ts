/**
 * The daemon's periodic jobs: named, each on its interval, each also runnable at once
 * (runMaintenance, tests). A job that throws is logged and runs again at its next tick.
 * Timers are unref'd and all stopped by stop() (the drain).
 */
import type { Logger } from 'pino';

export interface PeriodicJob {
  name: string;
  everyMs: number;
  run: () => void;
  /** Also at start() (default false). */
  atStart?: boolean;
}

export class PeriodicJobs {
  readonly #jobs: PeriodicJob[];
  readonly #logger: Logger;
  readonly #timers: NodeJS.Timeout[] = [];

  constructor(jobs: PeriodicJob[], logger: Logger) {
    this.#jobs = jobs;
    this.#logger = logger;
  }

  start(): void {
    for (const job of this.#jobs) {
      const t = setInterval(() => this.#run(job), job.everyMs);
      t.unref();
      this.#timers.push(t);
      if (job.atStart === true) this.#run(job);
    }
  }

  /** Every job now, in order. */
  runAll(): void {
    for (const job of this.#jobs) this.#run(job);
  }

  stop(): void {
    for (const t of this.#timers) clearInterval(t);
    this.#timers.length = 0;
  }

  #run(job: PeriodicJob): void {
    try {
      job.run();
    } catch (err) {
      this.#logger.error({ err, job: job.name }, 'periodic job failed');
    }
  }
}
