/**
 * Whether a session reads its socket: paused while any reason holds it (its answers are not
 * being read, or too many of the peer's requests wait for our answer), resumed when the last
 * one lets go. TCP flow control then holds the peer's sends; nothing is dropped.
 */
export class ReadGate {
  readonly #socket: { pause(): unknown; resume(): unknown };
  readonly #holds = new Set<string>();

  constructor(socket: { pause(): unknown; resume(): unknown }) {
    this.#socket = socket;
  }

  hold(reason: string): void {
    if (this.#holds.has(reason)) return;
    this.#holds.add(reason);
    if (this.#holds.size === 1) this.#socket.pause();
  }

  release(reason: string): void {
    if (!this.#holds.delete(reason)) return;
    if (this.#holds.size === 0) this.#socket.resume();
  }

  /** For the writer: held while the peer does not read. */
  forReason(reason: string): { pause(): void; resume(): void } {
    return { pause: () => this.hold(reason), resume: () => this.release(reason) };
  }
}
