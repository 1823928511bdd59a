/**
 * Coalesced writes: PDUs encoded during one turn of the event loop go out in a single
 * socket.write (one syscall, one TCP segment where they fit) on setImmediate, after
 * every response that arrived in the same read has been handled and answered.
 *
 * Backpressure: when socket.write returns false the writer is `blocked` until 'drain';
 * the session stops taking submits meanwhile (responses and enquire_link still go out:
 * they are small and the peer needs them to make progress).
 */
import type { Writable } from 'node:stream';

export class CoalescingWriter {
  readonly #socket: Writable;
  readonly #onDrain: () => void;
  #queue: Buffer[] = [];
  #bytes = 0;
  #scheduled: NodeJS.Immediate | null = null;
  #blocked = false;
  #closed = false;
  /** Writes issued (for tests and metrics: how well PDUs were coalesced). */
  writes = 0;

  constructor(socket: Writable, onDrain: () => void) {
    this.#socket = socket;
    this.#onDrain = onDrain;
    socket.on('drain', () => {
      if (!this.#blocked) return;
      this.#blocked = false;
      this.#onDrain();
    });
  }

  /** The socket's buffer is full: do not queue more bulk traffic until 'drain'. */
  get blocked(): boolean {
    return this.#blocked;
  }

  /** Octets queued for the next flush. */
  get queuedBytes(): number {
    return this.#bytes;
  }

  push(pdu: Buffer): void {
    if (this.#closed) return;
    this.#queue.push(pdu);
    this.#bytes += pdu.length;
    if (this.#scheduled === null) this.#scheduled = setImmediate(this.#flush);
  }

  /** Write what is queued now (before an end(), say). */
  flush(): void {
    if (this.#scheduled !== null) {
      clearImmediate(this.#scheduled);
      this.#scheduled = null;
    }
    this.#flush();
  }

  /** Drop anything queued and stop writing (the socket is going away). */
  close(): void {
    this.#closed = true;
    if (this.#scheduled !== null) clearImmediate(this.#scheduled);
    this.#scheduled = null;
    this.#queue = [];
    this.#bytes = 0;
  }

  readonly #flush = (): void => {
    this.#scheduled = null;
    if (this.#closed || this.#queue.length === 0) return;
    const q = this.#queue;
    const data = q.length === 1 ? q[0]! : Buffer.concat(q, this.#bytes);
    this.#queue = [];
    this.#bytes = 0;
    this.writes++;
    if (!this.#socket.write(data)) this.#blocked = true;
  };
}
