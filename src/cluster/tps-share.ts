/**
 * A node's share of a carrier account's TPS (issue 21, point 4). The account's `tps` is
 * split among the nodes by the bind slots they hold: tps × held / binds × headroom. The
 * headroom (≤ 1) leaves room for the moment a slot moves and for clocks that disagree on
 * what "one second" is; the node's AdaptiveTokenBucket is retuned to the share, and its
 * AIMD on ESME_RTHROTTLED keeps working below it.
 *
 * The shares sum to at most tps × headroom because a slot is reported lost (share down)
 * before its lease can expire and only then can another node acquire it (share up).
 */
import { ClusterError } from './errors.js';

export function tpsShare(tps: number, held: number, binds: number, headroom: number): number {
  if (!(tps > 0) || !(binds > 0) || held <= 0) return 0;
  if (!(headroom > 0 && headroom <= 1)) throw new ClusterError('cluster_invalid_options', `tps headroom must be in (0, 1], got ${headroom}`);
  return (tps * Math.min(held, binds) * headroom) / binds;
}

export interface NodeTpsShareOptions {
  tps: number;
  binds: number;
  /** Default 0.9. */
  headroom?: number;
  /** Called with the new rate whenever it changes (retune the account's token bucket with it when > 0). */
  onChange?: (rate: number) => void;
}

/** One account's share on this node, moved by slot acquisitions and losses. */
export class NodeTpsShare {
  #tps: number;
  #binds: number;
  readonly #headroom: number;
  readonly #onChange: ((rate: number) => void) | undefined;
  #held = new Set<number>();
  #rate = 0;

  constructor(o: NodeTpsShareOptions) {
    this.#tps = o.tps;
    this.#binds = o.binds;
    this.#headroom = o.headroom ?? 0.9;
    this.#onChange = o.onChange;
    tpsShare(1, 1, 1, this.#headroom); // validates the headroom now, not on the first slot
  }

  get rate(): number {
    return this.#rate;
  }

  get held(): number {
    return this.#held.size;
  }

  slotAcquired(slot: number): void {
    this.#held.add(slot);
    this.#update();
  }

  slotLost(slot: number): void {
    this.#held.delete(slot);
    this.#update();
  }

  /** The account's tps or binds changed (config reload). */
  retune(tps: number, binds: number): void {
    this.#tps = tps;
    this.#binds = binds;
    this.#update();
  }

  #update(): void {
    const held = [...this.#held].filter((s) => s < this.#binds).length;
    const rate = tpsShare(this.#tps, held, this.#binds, this.#headroom);
    if (rate === this.#rate) return;
    this.#rate = rate;
    this.#onChange?.(rate);
  }
}
