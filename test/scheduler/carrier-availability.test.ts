/**
 * CarrierAvailability (issue 13 point 7): a carrier whose last bind drops becomes unavailable
 * `failover_after_ms` later, and its queue is moved at that moment, on a timer armed by the
 * bind event, not at the next poll. Fake clock and fake timers.
 */
import t from 'tap';
import { EventEmitter } from 'node:events';
import { CarrierAvailability, type AvailabilityTarget } from '../../src/scheduler/carrier-availability.js';
import type { BindState, ConnectorEvents } from '../../src/carriers/connector.js';

class FakeTimers {
  now = 0;
  #next = 1;
  readonly #due = new Map<number, { at: number; fn: () => void }>();
  set = (fn: () => void, ms: number): number => {
    const id = this.#next++;
    this.#due.set(id, { at: this.now + ms, fn });
    return id;
  };
  clear = (id: unknown): void => void this.#due.delete(id as number);
  advance(ms: number): void {
    const end = this.now + ms;
    for (;;) {
      const next = [...this.#due.entries()].filter(([, d]) => d.at <= end).sort((a, b) => a[1].at - b[1].at)[0];
      if (!next) break;
      this.#due.delete(next[0]);
      this.now = next[1].at;
      next[1].fn();
    }
    this.now = end;
  }
  get pending(): number {
    return this.#due.size;
  }
}

function carrier(id: string) {
  const connector = new EventEmitter<ConnectorEvents>() as EventEmitter<ConnectorEvents> & { isUp(): boolean; up: boolean };
  connector.up = true;
  connector.isUp = () => connector.up;
  const rt: AvailabilityTarget = { config: { id }, connector, paused: false, downSince: undefined };
  const setUp = (up: boolean) => void (connector.up = up);
  const bind = (state: BindState['state']) => {
    connector.up = state === 'bound';
    connector.emit('bind', { carrierId: id, bindIndex: 0, state, mode: 'transceiver', inFlight: 0, window: 10 });
  };
  return { rt, bind, setUp };
}

t.test('unavailable failover_after_ms after the bind is lost; the queue moves on the event timer', async (t) => {
  const timers = new FakeTimers();
  const a = carrier('cmcc');
  const moved: Array<[string, number]> = [];
  const av = new CarrierAvailability({
    carriers: () => [a.rt],
    now: () => timers.now,
    failoverAfterMs: () => 1000,
    onUnavailable: (id) => moved.push([id, timers.now]),
    setTimer: timers.set,
    clearTimer: timers.clear,
  });
  av.start();
  a.bind('bound');
  t.notOk(av.unavailable('cmcc'));
  timers.advance(5000);
  a.bind('backoff');
  t.notOk(av.unavailable('cmcc'), 'just dropped: not yet');
  timers.advance(999);
  t.notOk(av.unavailable('cmcc'));
  t.same(moved, []);
  timers.advance(1);
  t.ok(av.unavailable('cmcc'), 'unavailable at 1000 ms');
  t.same(moved, [['cmcc', 6000]], 'queue moved at the moment it became unavailable');
  a.bind('bound');
  t.notOk(av.unavailable('cmcc'), 'back');
  a.bind('backoff');
  timers.advance(300);
  a.bind('bound');
  timers.advance(5000);
  t.same(moved, [['cmcc', 6000]], 'a drop shorter than the delay moves nothing');
  t.equal(av.unavailable('nope'), true, 'an unknown carrier is unavailable');
  av.stop();
  t.equal(timers.pending, 0, 'stop clears its timers');
});

t.test('a carrier that never binds is unavailable failover_after_ms after start; paused is unavailable at once', async (t) => {
  const timers = new FakeTimers();
  const a = carrier('cmcc');
  a.setUp(false);
  const moved: string[] = [];
  const av = new CarrierAvailability({
    carriers: () => [a.rt],
    now: () => timers.now,
    failoverAfterMs: () => 250,
    onUnavailable: (id) => moved.push(id),
    setTimer: timers.set,
    clearTimer: timers.clear,
  });
  av.start();
  timers.advance(250);
  t.same(moved, ['cmcc']);
  a.bind('bound');
  a.rt.paused = true;
  t.ok(av.unavailable('cmcc'), 'paused');
  av.stop();
});
