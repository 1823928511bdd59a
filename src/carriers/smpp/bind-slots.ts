/**
 * The binds of one carrier account as the BindPool keeps them (SPEC 4), and which of them
 * may be open (issue 21, leased mode).
 *
 * Layout: `binds` transceivers, or `binds` transmitters followed by `binds` receivers. Bind
 * slot k of the account (what a cluster lease covers, 0..binds-1) is transceiver k, or the
 * pair transmitter k + receiver binds+k: the account's `binds` counts sessions of one kind,
 * so a node that holds slot k owns both halves of that pair.
 *
 * Without leases every bind is open from the start. In leased mode none is until its slot
 * is opened (openSlot), and a slot closed again stays closed: the pool neither connects nor
 * reconnects a bind whose slot is not open.
 */
import { Backoff } from '../../domain/backoff.js';
import type { BindState } from '../connector.js';
import type { BindMode, SmppSession } from './session.js';

export interface Slot {
  index: number;
  /** Bind slot of the account this session belongs to (0..binds-1). */
  lease: number;
  mode: BindMode;
  /** May this bind be connected now? Always true without leases. */
  open: boolean;
  state: BindState['state'];
  session: SmppSession | null;
  backoff: Backoff;
  timer: NodeJS.Timeout | null;
  /** Fires when the bind has stayed up reconnect.stable_after_s: the backoff resets then. */
  stableTimer: NodeJS.Timeout | null;
}

/** `hard`: destroy the socket now (a lease that could not be renewed). `soft`: let in-flight submits answer, unbind, wait for the close. */
export type SlotCloseMode = 'hard' | 'soft';

export function layoutSlots(
  carrier: { bind: 'transceiver' | 'transmitter+receiver'; binds: number },
  leased: boolean,
  backoff: () => Backoff,
): Slot[] {
  const n = carrier.binds;
  const make = (index: number, lease: number, mode: BindMode): Slot => ({
    index,
    lease,
    mode,
    open: !leased,
    state: 'closed',
    session: null,
    backoff: backoff(),
    timer: null,
    stableTimer: null,
  });
  const slots: Slot[] = [];
  if (carrier.bind === 'transceiver') {
    for (let i = 0; i < n; i++) slots.push(make(i, i, 'transceiver'));
  } else {
    for (let i = 0; i < n; i++) slots.push(make(i, i, 'transmitter'));
    for (let i = 0; i < n; i++) slots.push(make(n + i, i, 'receiver'));
  }
  return slots;
}

/** Cancels a slot's reconnect and stability timers. */
export function clearSlotTimers(s: Slot): void {
  if (s.timer) clearTimeout(s.timer);
  if (s.stableTimer) clearTimeout(s.stableTimer);
  s.timer = s.stableTimer = null;
}

/** Resolves once the session has no submit in flight, is no longer bound, or `ms` passed. */
export async function settleInFlight(session: SmppSession, ms: number): Promise<void> {
  const end = performance.now() + ms;
  while (session.inFlight > 0 && session.state === 'bound' && performance.now() < end) {
    await new Promise((r) => setTimeout(r, 10));
  }
}
