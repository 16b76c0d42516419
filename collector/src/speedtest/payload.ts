import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';

/** Incompressible bytes, generated once per process; every download streams views of it (no per-request payload). */
const PAYLOAD = randomBytes(4 * 1024 * 1024);
/**
 * Bytes per write. The cost of a download is per chunk, not per byte: each one travels Readable → pipe →
 * the response's chunked framing in JavaScript (run at a few hundred calls a second, it stays unoptimised),
 * while a partly written chunk is finished by libuv without JavaScript. 1 MiB: 4× fewer trips than 256 KiB.
 */
const CHUNK = 1024 * 1024;

/** A stream of the shared random payload that ends after `seconds` (or when the client goes away). */
export function payloadStream(seconds: number, onBytes: (n: number) => void): Readable {
  const until = performance.now() + seconds * 1000;
  let offset = 0;
  return new Readable({
    highWaterMark: 2 * CHUNK,
    read() {
      for (;;) {
        if (performance.now() >= until) {
          this.push(null);
          return;
        }
        const chunk = PAYLOAD.subarray(offset, offset + CHUNK);
        offset = (offset + CHUNK) % PAYLOAD.length;
        onBytes(chunk.length);
        if (!this.push(chunk)) return;
      }
    },
  });
}

/** The upload source the agent sends: the same kind of incompressible bytes. */
export function payloadChunk(): Buffer {
  return PAYLOAD.subarray(0, CHUNK);
}
