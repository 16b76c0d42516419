/**
 * Cooperative time slicing for long passes on the event loop (the alert evaluation over every school):
 * `pause()` gives the loop back (setImmediate) once the pass has run `sliceMs` without a break, so
 * reports arriving meanwhile are served within about a slice instead of waiting for the whole pass (an
 * evaluation over 1,000 schools took 80–400 ms in one piece, the steady phase's p99 in bench/ingest).
 */
export class Slicer {
  private sliceStart = performance.now();
  /** Milliseconds spent away (in other callbacks) during pauses. */
  awayMs = 0;

  constructor(readonly sliceMs = 10) {}

  /** Yields to the event loop when the current slice is used up. */
  async pause(): Promise<void> {
    if (performance.now() - this.sliceStart < this.sliceMs) return;
    const left = performance.now();
    await new Promise<void>((resolve) => setImmediate(resolve));
    this.sliceStart = performance.now();
    this.awayMs += this.sliceStart - left;
  }
}
