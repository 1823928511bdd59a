/**
 * What a node of a cluster does on the shared PostgreSQL store besides its own sends
 * (issue 21.2, 21.5):
 * - the reaper: segments claimed by a node whose registry row expired (killed, cut off)
 *   go back to the queue, to be claimed by a live node (at-least-once, as after a crash);
 * - the OTP wake-up: an OTP committed on any node NOTIFYs xinge_otp; here it runs an
 *   OTP pass of the dispatcher at once (and after every reconnection of the listener,
 *   since a NOTIFY sent while it was away is lost);
 * - held receipts: a receipt that came before its resp may have its resp recorded by
 *   another node; the held ones are looked up again in the shared store every second.
 *   Each node holds its own; the reaper makes a dead node's held receipts this node's.
 */
import type { Logger } from 'pino';
import type { NodeRegistry } from './node-registry.js';
import { OtpWakeListener } from './otp-wake.js';
import type { MessageStore } from '../store/types.js';
import type { Category } from '../domain/types.js';

export interface ClusterStoreWorkDeps {
  url: string;
  registry: NodeRegistry;
  messages: MessageStore;
  /** MMS claims of dead nodes too (PgMmsStore.reapClaims). */
  reapMms?: (liveNodes: readonly string[]) => number;
  /** Held receipts of dead nodes, taken over by this one (AuxStore.adoptHeldReceipts + ReceiptHandler.adopt); returns how many. */
  adoptHeldReceipts?: (liveNodes: readonly string[]) => number;
  /** Run a dispatch pass now for these lanes. */
  passNow: (lanes: Category[]) => void;
  /** Look again at every held receipt (ReceiptHandler.reconcile). */
  reconcileReceipts: () => void;
  logger: Logger;
  /** How often the reaper runs; default 2000 ms. */
  reapEveryMs?: number;
  reconcileEveryMs?: number;
}

export interface ClusterStoreWork {
  /** Runs the reaper once now; resolves with how many segments it returned. */
  reapNow(): Promise<number>;
  stop(): Promise<void>;
}

const ALL_LANES: Category[] = ['otp', 'notification', 'collection', 'marketing'];

export function startClusterStoreWork(d: ClusterStoreWorkDeps): ClusterStoreWork {
  let reaping = false;
  const reapNow = async (): Promise<number> => {
    if (reaping || d.messages.reapClaims === undefined) return 0;
    reaping = true;
    try {
      const live = await d.registry.liveNodes();
      const n = d.messages.reapClaims(live);
      const mms = d.reapMms?.(live) ?? 0;
      if (mms > 0) d.logger.warn({ mms, live: live.length }, 'MMS claimed by a node that is gone are queued again (at-least-once)');
      const held = d.adoptHeldReceipts?.(live) ?? 0;
      if (held > 0) d.logger.warn({ receipts: held, live: live.length }, 'receipts held by a node that is gone are held here now');
      if (n > 0) {
        d.logger.warn({ segments: n, live: live.length }, 'segments claimed by a node that is gone are queued again (at-least-once)');
        d.passNow(ALL_LANES);
      }
      return n;
    } catch (err) {
      d.logger.warn({ err: { message: (err as Error).message, code: (err as { code?: string }).code } }, 'claim reaper: the store did not answer; retried');
      return 0;
    } finally {
      reaping = false;
    }
  };
  const reaper = setInterval(() => void reapNow(), d.reapEveryMs ?? 2000);
  reaper.unref();
  const reconciler = setInterval(() => {
    try {
      d.reconcileReceipts();
    } catch (err) {
      d.logger.warn({ err: { message: (err as Error).message } }, 'held receipts: reconcile failed; retried');
    }
  }, d.reconcileEveryMs ?? 1000);
  reconciler.unref();
  const listener = new OtpWakeListener({
    url: d.url,
    onWake: () => d.passNow(['otp']),
    onError: (err) => d.logger.warn({ code: err.code }, 'OTP wake-up listener: connection lost; reconnecting'),
  });
  listener.start();
  return {
    reapNow,
    async stop() {
      clearInterval(reaper);
      clearInterval(reconciler);
      await listener.stop();
    },
  };
}
