/**
 * Coalesced writes: PDUs encoded during one turn of the event loop go out in a single
 * socket.write (one syscall, one TCP segment where they fit) on setImmediate, after
 * every response that arrived in the same read has been handled and answered.
 *
 * Backpressure: when socket.write returns false the writer is `blocked` until 'drain';
 * the session stops taking submits meanwhile (responses and enquire_link still go out:
 * they are small and the peer needs them to make progress).
 *
 * A peer that sends but does not read (each of its requests queues a resp here) would make
 * this process buffer without bound: past PAUSE_READING_OVER octets waiting for the socket,
 * the writer stops reading from it until 'drain', so the peer's own sends block instead (TCP
 * flow control). Nothing is dropped: what it sent is read and answered once it reads again,
 * and a peer that never does is closed by the session's timeouts.
 */
import type { Writable } from 'node:stream';

/** Octets waiting for a socket past which its reading stops (about 60,000 resps). */
export const PAUSE_READING_OVER = 1024 * 1024;

export interface CoalescingWriterOptions {
  /** The same socket's reading side: paused while more than PAUSE_READING_OVER octets wait. */
  readable?: { pause(): unknown; resume(): unknown };
}

export class CoalescingWriter {
  readonly #socket: Writable;
  readonly #onDrain: () => void;
  #queue: Buffer[] = [];
  #bytes = 0;
  #scheduled: NodeJS.Immediate | null = null;
  #blocked = false;
  #closed = false;
  readonly #readable: CoalescingWriterOptions['readable'];
  #readingPaused = false;
  /** Writes issued (for tests and metrics: how well PDUs were coalesced). */
  writes = 0;

  constructor(socket: Writable, onDrain: () => void, o: CoalescingWriterOptions = {}) {
    this.#socket = socket;
    this.#onDrain = onDrain;
    this.#readable = o.readable;
    socket.on('drain', () => {
      if (this.#readingPaused) {
        this.#readingPaused = false;
        if (!this.#closed) this.#readable?.resume();
      }
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
    if (!this.#socket.write(data)) {
      this.#blocked = true;
      if (this.#readable !== undefined && !this.#readingPaused && this.#socket.writableLength > PAUSE_READING_OVER) {
        this.#readingPaused = true;
        this.#readable.pause();
      }
    }
  };
}
