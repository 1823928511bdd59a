/**
 * How a carrier's free capacity is shared between the weighted lanes (SPEC 5, pure): OTP is
 * taken strictly first by the dispatcher; notification, collection and marketing share what
 * is left by weight through a stride scheduler whose state lives across passes. Each lane
 * has a virtual "pass" that advances by 1/weight per slot it takes; the next slot goes to
 * the lane whose next finish tag is lowest. Credit is therefore carried from pass to pass:
 * a carrier that grants one slot a pass still serves 4/2/1 over seven passes, where the old
 * per-pass floor-and-remainder split gave every slot to the first lane.
 *
 * A lane found empty (its peek came back short) stops accruing credit: when it has work
 * again it joins at the current virtual time, so an idle lane cannot bank a burst.
 */
import type { Category } from '../domain/types.js';

export interface LaneWeights {
  notification: number;
  collection: number;
  marketing: number;
}

export type WeightedLane = keyof LaneWeights;
export const WEIGHTED_LANES: readonly WeightedLane[] = ['notification', 'collection', 'marketing'];

export class LaneScheduler {
  readonly #pass: Record<WeightedLane, number> = { notification: 0, collection: 0, marketing: 0 };
  /** Lanes last seen without work: they rejoin at the virtual time instead of keeping old credit. */
  readonly #idle = new Set<WeightedLane>(WEIGHTED_LANES);
  /** Virtual time: the lowest pass among lanes with work (where a rejoining lane starts). */
  #vt = 0;

  /**
   * Plan `capacity` slots over the open lanes, assuming each can use all it is given:
   * [lane, slots] in priority order, lanes with no slot left out. Nothing is committed until
   * charge() reports what each lane actually took.
   */
  allocate(capacity: number, weights: LaneWeights, open: ReadonlySet<Category>): Array<[WeightedLane, number]> {
    const lanes = WEIGHTED_LANES.filter((l) => open.has(l) && weights[l] > 0);
    // A closed lane (quiet hours) rejoins like an empty one: no credit banked overnight.
    for (const l of WEIGHTED_LANES) if (!lanes.includes(l)) this.#idle.add(l);
    if (capacity <= 0 || lanes.length === 0) return [];
    const busy = lanes.filter((l) => !this.#idle.has(l));
    if (busy.length > 0) this.#vt = Math.max(this.#vt, Math.min(...busy.map((l) => this.#pass[l])));
    for (const l of lanes) {
      if (!this.#idle.has(l)) continue;
      // Joins once, at the virtual time; it counts as having work until a peek finds it empty.
      this.#pass[l] = Math.max(this.#pass[l], this.#vt);
      this.#idle.delete(l);
    }
    const sim = lanes.map((l) => this.#pass[l]);
    const counts = lanes.map(() => 0);
    for (let n = 0; n < capacity; n++) {
      let best = 0;
      let bestTag = Infinity;
      for (let i = 0; i < lanes.length; i++) {
        const tag = sim[i]! + 1 / weights[lanes[i]!];
        // Ties go to the higher-priority lane (earlier in the list); the epsilon absorbs float drift.
        if (tag < bestTag - 1e-12) {
          best = i;
          bestTag = tag;
        }
      }
      sim[best] = bestTag;
      counts[best]!++;
    }
    const out: Array<[WeightedLane, number]> = [];
    lanes.forEach((l, i) => {
      if (counts[i]! > 0) out.push([l, counts[i]!]);
    });
    return out;
  }

  /**
   * A lane took `taken` slots; `hasMore`: its peek filled the request (there may be more
   * work), undefined when it was not asked.
   */
  charge(lane: WeightedLane, taken: number, weights: LaneWeights, hasMore: boolean | undefined): void {
    if (taken > 0) this.#pass[lane] += taken / weights[lane];
    if (hasMore === true) this.#idle.delete(lane);
    else if (hasMore === false) this.#idle.add(lane);
  }
}
