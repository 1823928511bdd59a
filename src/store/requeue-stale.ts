/** Both backends' stale-submitting sweep: the segments nobody awaits go back to the queue. */
import type { MessageStore } from './types.js';

/** Requeues the segments of `ids` not still awaited (`inFlight`); returns how many moved. */
export function requeueStale(store: Pick<MessageStore, 'requeue'>, ids: readonly number[], now: number, inFlight: (segmentId: number) => boolean): number {
  let n = 0;
  for (const id of ids) {
    if (inFlight(id)) continue;
    if (store.requeue(id, now, { countAttempt: false, errorCode: 'stale_submitting' })) n++;
  }
  return n;
}
