/**
 * What the simulated SMSC received, for tests to assert on: every submit_sm (with its
 * raw short_message), binds, the responses the ESME sent back (deliver_sm_resp,
 * enquire_link_resp, generic_nack …), and per connection the count and the highest
 * number of submit_sm outstanding (received, not yet answered) at any moment.
 */
import { EventEmitter } from 'node:events';

export interface RecordedSubmit {
  conn: number;
  systemId: string;
  seq: number;
  source: string;
  sourceTon: number;
  sourceNpi: number;
  destination: string;
  destTon: number;
  destNpi: number;
  esmClass: number;
  dataCoding: number;
  registeredDelivery: number;
  /** validity_period as sent (SMPP time format; '' = the SMSC's default). */
  validityPeriod?: string;
  /** A copy of the octets as received. */
  shortMessage: Buffer;
  tlvs: Record<string, number | string | Buffer>;
  /** Date.now() when it arrived. */
  time: number;
  /** command_status answered (undefined while unanswered or never answered). */
  status?: number;
  /** message_id given in the resp (when accepted). */
  messageId?: string;
  /** The receipt stat sent back for it, and when (for the handset inbox page). */
  receipt?: { stat: string; time: number };
}

export interface RecordedBind {
  conn: number;
  command: string;
  systemId: string;
  status: number;
  time: number;
}

/** A PDU the ESME sent that is a response (or a generic_nack) to something the sim sent. */
export interface RecordedResponse {
  conn: number;
  command: string;
  commandId: number;
  status: number;
  seq: number;
  time: number;
}

/** A request other than submit_sm and bind (enquire_link, unbind, anything unknown). */
export interface RecordedRequest {
  conn: number;
  command: string;
  commandId: number;
  seq: number;
  time: number;
}

export interface ConnStats {
  submits: number;
  outstanding: number;
  maxOutstanding: number;
}

export interface RecorderEvents {
  submit: [RecordedSubmit];
  bind: [RecordedBind];
  response: [RecordedResponse];
  request: [RecordedRequest];
}

export class SimRecorder extends EventEmitter<RecorderEvents> {
  readonly submits: RecordedSubmit[] = [];
  readonly binds: RecordedBind[] = [];
  readonly responses: RecordedResponse[] = [];
  readonly requests: RecordedRequest[] = [];
  readonly #conns = new Map<number, ConnStats>();
  /** Submits kept in `submits` (older ones are dropped); counters are always kept. */
  limit: number;
  totalSubmits = 0;

  constructor(limit = Number.POSITIVE_INFINITY) {
    super();
    this.limit = limit;
  }

  #stats(conn: number): ConnStats {
    let s = this.#conns.get(conn);
    if (!s) this.#conns.set(conn, (s = { submits: 0, outstanding: 0, maxOutstanding: 0 }));
    return s;
  }

  /** A submit_sm arrived on `conn` (it is outstanding until answered()). */
  submitted(r: RecordedSubmit): void {
    this.totalSubmits++;
    const s = this.#stats(r.conn);
    s.submits++;
    s.outstanding++;
    if (s.outstanding > s.maxOutstanding) s.maxOutstanding = s.outstanding;
    if (this.limit > 0) {
      this.submits.push(r);
      if (this.submits.length > this.limit) this.submits.shift();
    }
    if (this.listenerCount('submit') > 0) this.emit('submit', r);
  }

  /** The resp for one submit_sm on `conn` was written. */
  answered(conn: number): void {
    const s = this.#stats(conn);
    if (s.outstanding > 0) s.outstanding--;
  }

  bound(b: RecordedBind): void {
    this.binds.push(b);
    this.emit('bind', b);
  }

  response(r: RecordedResponse): void {
    this.responses.push(r);
    this.emit('response', r);
  }

  request(r: RecordedRequest): void {
    this.requests.push(r);
    this.emit('request', r);
  }

  stats(conn: number): ConnStats {
    return { ...this.#stats(conn) };
  }

  /** Per-connection stats for every connection that sent a submit_sm. */
  allStats(): Map<number, ConnStats> {
    return new Map([...this.#conns].map(([k, v]) => [k, { ...v }]));
  }

  /** Highest outstanding on any connection. */
  maxOutstanding(): number {
    let m = 0;
    for (const s of this.#conns.values()) m = Math.max(m, s.maxOutstanding);
    return m;
  }

  clear(): void {
    this.submits.length = 0;
    this.binds.length = 0;
    this.responses.length = 0;
    this.requests.length = 0;
    this.#conns.clear();
    this.totalSubmits = 0;
  }
}
