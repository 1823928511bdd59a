/**
 * Per system_id counters of the simulated SMSC (issue 21): how many binds are open now and
 * the most ever open at once, and the most submit_sm received in any one-second window.
 * What a carrier would hold a cluster to: never more binds than the account allows, never
 * more than its TPS.
 *
 * A bind counts from its successful bind_resp until its unbind or its connection closes.
 * The submit rate is a sliding window: at every submit_sm, the submits of that system_id in
 * the last 1000 ms (that one included) are counted, so no window between two clock ticks is
 * missed. Time is monotonic (injected for tests).
 */
export interface AccountStats {
  systemId: string;
  /** Binds open now (any mode). */
  binds: number;
  /** The most binds open at once since the start (or the last reset). */
  maxBinds: number;
  /** submit_sm received on bound transmitters/transceivers. */
  submits: number;
  /** The most submit_sm received within any 1000 ms. */
  maxSubmitsPerSecond: number;
}

interface Account extends AccountStats {
  /** Monotonic times of the submits in the last second (from `head` on). */
  times: number[];
  head: number;
}

const WINDOW_MS = 1000;

export class AccountCounters {
  readonly #accounts = new Map<string, Account>();
  readonly #now: () => number;

  constructor(now: () => number = () => performance.now()) {
    this.#now = now;
  }

  bound(systemId: string): void {
    const a = this.#get(systemId);
    a.binds++;
    if (a.binds > a.maxBinds) a.maxBinds = a.binds;
  }

  unbound(systemId: string): void {
    const a = this.#get(systemId);
    if (a.binds > 0) a.binds--;
  }

  submitted(systemId: string): void {
    const a = this.#get(systemId);
    const t = this.#now();
    a.submits++;
    a.times.push(t);
    while (a.head < a.times.length && a.times[a.head]! <= t - WINDOW_MS) a.head++;
    const inWindow = a.times.length - a.head;
    if (inWindow > a.maxSubmitsPerSecond) a.maxSubmitsPerSecond = inWindow;
    if (a.head > 1024 && a.head * 2 > a.times.length) {
      a.times = a.times.slice(a.head);
      a.head = 0;
    }
  }

  /** One account's counters (zeros for one never seen). */
  get(systemId: string): AccountStats {
    return snapshot(this.#accounts.get(systemId) ?? fresh(systemId));
  }

  /** Every account seen, by system_id. */
  all(): AccountStats[] {
    return [...this.#accounts.values()].map(snapshot).sort((a, b) => (a.systemId < b.systemId ? -1 : 1));
  }

  /** Maxima and submit counts back to what is open now (a test's warm-up is over). */
  reset(): void {
    for (const a of this.#accounts.values()) {
      a.maxBinds = a.binds;
      a.submits = 0;
      a.maxSubmitsPerSecond = 0;
      a.times = [];
      a.head = 0;
    }
  }

  #get(systemId: string): Account {
    let a = this.#accounts.get(systemId);
    if (!a) this.#accounts.set(systemId, (a = fresh(systemId)));
    return a;
  }
}

function fresh(systemId: string): Account {
  return { systemId, binds: 0, maxBinds: 0, submits: 0, maxSubmitsPerSecond: 0, times: [], head: 0 };
}

function snapshot(a: Account): AccountStats {
  return { systemId: a.systemId, binds: a.binds, maxBinds: a.maxBinds, submits: a.submits, maxSubmitsPerSecond: a.maxSubmitsPerSecond };
}
