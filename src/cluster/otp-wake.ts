/**
 * "A new OTP wakes the nodes" (issue 21, point 2) over PostgreSQL LISTEN/NOTIFY.
 *
 * notifyOtp() is called by the node that committed an OTP (NOTIFY is delivered at commit,
 * so call it in the intake transaction or after it). OtpWakeListener holds one dedicated
 * connection that LISTENs; on a notification it calls onWake so the dispatcher claims at
 * once instead of at its next poll.
 *
 * Notifications sent while the listener is disconnected are lost (PostgreSQL does not queue
 * them for a session that is gone), so after every (re)connection the listener calls
 * onWake('reconnected'): the consumer then looks at the queue, and nothing waits for the
 * poll interval. A connection that dies silently (partition) is found by a ping every
 * pingEveryMs that must answer within pingTimeoutMs.
 */
import pg from 'pg';
import { ClusterError, asClusterError, redactUrl } from './errors.js';

export const OTP_WAKE_CHANNEL = 'xinge_otp';

/** Payload: a short hint (a lane, an account), never message content. Max 8000 bytes in PostgreSQL. */
export async function notifyOtp(db: Pick<pg.Pool, 'query'>, hint = '', channel = OTP_WAKE_CHANNEL): Promise<void> {
  try {
    await db.query('SELECT pg_notify($1, $2)', [channel, hint]);
  } catch (err) {
    throw asClusterError('cluster_db_unavailable', 'OTP wake-up notify failed', err);
  }
}

export type WakeCause = { kind: 'notify'; hint: string } | { kind: 'reconnected' };

export interface OtpWakeListenerOptions {
  url: string;
  channel?: string;
  onWake: (cause: WakeCause) => void;
  /** The connection was lost or could not be opened (it is retried). */
  onError?: (err: ClusterError) => void;
  /** Reconnect backoff: doubles from initial to max. Defaults 100 ms and 5000 ms. */
  reconnectInitialMs?: number;
  reconnectMaxMs?: number;
  /** Liveness ping. Defaults 5000 ms and 3000 ms. */
  pingEveryMs?: number;
  pingTimeoutMs?: number;
}

export class OtpWakeListener {
  readonly #o: OtpWakeListenerOptions;
  readonly #channel: string;
  #client: pg.Client | undefined;
  #running = false;
  #backoff: number;
  #retry: NodeJS.Timeout | undefined;
  #ping: NodeJS.Timeout | undefined;
  #connected = false;

  constructor(o: OtpWakeListenerOptions) {
    this.#o = o;
    this.#channel = o.channel ?? OTP_WAKE_CHANNEL;
    if (!/^[a-z_][a-z0-9_]{0,62}$/.test(this.#channel)) throw new ClusterError('cluster_invalid_options', `OTP wake-up: channel must be a plain lower-case identifier, got ${this.#channel}`);
    this.#backoff = o.reconnectInitialMs ?? 100;
  }

  /** True while LISTEN is in effect on a live connection. */
  get listening(): boolean {
    return this.#connected;
  }

  /** Connects (retrying in the background if the database is not there yet). */
  start(): void {
    if (this.#running) return;
    this.#running = true;
    void this.#connect();
  }

  async stop(): Promise<void> {
    this.#running = false;
    clearTimeout(this.#retry);
    clearInterval(this.#ping);
    const c = this.#client;
    this.#client = undefined;
    this.#connected = false;
    if (c) await c.end().catch(() => {});
  }

  async #connect(): Promise<void> {
    const client = new pg.Client({ connectionString: this.#o.url, keepAlive: true, connectionTimeoutMillis: 5000, application_name: 'xinge-otp-wake' });
    this.#client = client;
    let dropped = false;
    const drop = (err: unknown): void => {
      if (dropped) return;
      dropped = true;
      if (this.#client === client) {
        this.#client = undefined;
        this.#connected = false;
      }
      clearInterval(this.#ping);
      client.end().catch(() => {});
      if (!this.#running) return;
      this.#o.onError?.(asClusterError('cluster_listen_failed', 'OTP wake-up listener connection lost', err));
      this.#scheduleReconnect();
    };
    client.on('error', drop);
    client.on('end', () => drop(new Error('connection ended')));
    client.on('notification', (n) => {
      if (n.channel === this.#channel) this.#o.onWake({ kind: 'notify', hint: n.payload ?? '' });
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${this.#channel}`);
    } catch (err) {
      drop(new Error(redactUrl(err instanceof Error ? err.message : String(err))));
      return;
    }
    if (!this.#running || dropped) {
      await client.end().catch(() => {});
      return;
    }
    this.#connected = true;
    this.#backoff = this.#o.reconnectInitialMs ?? 100;
    this.#startPing(client, drop);
    this.#o.onWake({ kind: 'reconnected' });
  }

  #startPing(client: pg.Client, drop: (err: unknown) => void): void {
    const timeout = this.#o.pingTimeoutMs ?? 3000;
    let inFlight = false;
    this.#ping = setInterval(() => {
      if (inFlight) return;
      inFlight = true;
      const timer = setTimeout(() => drop(new Error(`ping not answered within ${timeout} ms`)), timeout);
      client
        .query('SELECT 1')
        .then(() => clearTimeout(timer), (err: unknown) => {
          clearTimeout(timer);
          drop(err);
        })
        .finally(() => (inFlight = false));
    }, this.#o.pingEveryMs ?? 5000);
    this.#ping.unref();
  }

  #scheduleReconnect(): void {
    clearTimeout(this.#retry);
    const wait = this.#backoff;
    this.#backoff = Math.min(this.#backoff * 2, this.#o.reconnectMaxMs ?? 5000);
    this.#retry = setTimeout(() => {
      if (this.#running) void this.#connect();
    }, wait);
  }
}
