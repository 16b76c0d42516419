/**
 * Request bodies sent gzip-compressed (`Content-Encoding: gzip`, as agents send their reports): inflated
 * as they arrive, with the bytes on the wire bounded by `ingest.bodyLimitBytes` and the inflated bytes by
 * `ingest.decodedBodyLimitBytes`. A body that would inflate beyond its limit is refused with 413 as soon as
 * the limit is passed: inflation stops there (a gzip bomb of 1 MiB that would become 1 GiB costs the
 * collector ~4 MiB of inflating, not 1 GiB). Other encodings are refused with 415.
 */
import { Transform, type TransformCallback } from 'node:stream';
import { createGunzip } from 'node:zlib';
import type { FastifyRequest, preParsingAsyncHookHandler } from 'fastify';
import { Counter, type Registry } from 'prom-client';

export interface BodyLimits {
  /** Bytes on the wire (`ingest.bodyLimitBytes`), compressed or not. */
  wireBytes: number;
  /** Bytes of a compressed body once inflated (`ingest.decodedBodyLimitBytes`). */
  decodedBytes: number;
}

/** An error the collector's error handler answers with its status and message (JSON, `apiError`). */
export class BodyError extends Error {
  override readonly name = 'BodyError';
  constructor(
    readonly statusCode: number,
    message: string,
    readonly code = 'CW_BODY_REFUSED',
  ) {
    super(message);
  }
}

/** The limit the route's body parser must allow: the larger one (this module enforces each). */
export const parserLimit = (l: BodyLimits) => Math.max(l.wireBytes, l.decodedBytes);

const wireTooLarge = (l: BodyLimits) =>
  new BodyError(413, `request body is larger than the limit of ${l.wireBytes} bytes (ingest.bodyLimitBytes)`);
const inflatesTooLarge = (l: BodyLimits) =>
  new BodyError(
    413,
    `the gzip-compressed request body inflates to more than the limit of ${l.decodedBytes} bytes (ingest.decodedBodyLimitBytes); nothing of it was read`,
  );

/** Passes bytes through and counts them; past `limit` it fails with `over()`. */
class Meter extends Transform {
  bytes = 0;
  constructor(
    private readonly limit: number,
    private readonly over: () => Error,
  ) {
    super();
  }
  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    this.bytes += chunk.length;
    if (this.bytes > this.limit) done(this.over());
    else done(null, chunk);
  }
}

type Encoding = 'gzip' | 'identity';

/** `gzip` (or `x-gzip`), `identity` or none; anything else is refused with 415 naming it. */
function encodingOf(req: FastifyRequest): Encoding {
  const raw = req.headers['content-encoding'];
  const value = (Array.isArray(raw) ? raw.join(',') : (raw ?? '')).trim().toLowerCase();
  if (value === '' || value === 'identity') return 'identity';
  if (value === 'gzip' || value === 'x-gzip') return 'gzip';
  throw new BodyError(
    415,
    `content-encoding ${JSON.stringify(value.slice(0, 40))} is not supported: send the body as it is or gzip-compressed`,
  );
}

/** Counters of request bodies by encoding: how many, and their bytes on the wire and once inflated. */
export interface BodyMetrics {
  bodies: Counter<'encoding'>;
  bytes: Counter<'encoding' | 'form'>;
}

export function bodyMetrics(registry: Registry): BodyMetrics {
  const registers = [registry];
  return {
    bodies: new Counter({
      name: 'campuswatch_ingest_bodies_total',
      help: 'Report bodies read, by content encoding (gzip, identity); refused ones included',
      labelNames: ['encoding'],
      registers,
    }),
    bytes: new Counter({
      name: 'campuswatch_ingest_body_bytes_total',
      help: 'Bytes of report bodies by content encoding and form (wire: as received; decoded: after inflating)',
      labelNames: ['encoding', 'form'],
      registers,
    }),
  };
}

/**
 * The route's preParsing hook: inflates gzip bodies within the limits, holds plain ones to the wire limit
 * (the route's own body limit is `parserLimit`, the larger of the two).
 */
export function decodeBodies(limits: BodyLimits, metrics: BodyMetrics): preParsingAsyncHookHandler {
  return async (req, _reply, payload) => {
    const encoding = encodingOf(req);
    metrics.bodies.inc({ encoding });
    const declared = Number(req.headers['content-length']);
    if (declared > limits.wireBytes) {
      metrics.bytes.inc({ encoding, form: 'wire' }, 0);
      throw wireTooLarge(limits);
    }
    if (encoding === 'identity') {
      if (!Number.isNaN(declared)) {
        metrics.bytes.inc({ encoding, form: 'wire' }, declared);
        metrics.bytes.inc({ encoding, form: 'decoded' }, declared);
        // Node's parser delivers no more than Content-Length: the declared size is the size
        return payload;
      }
      // chunked: counted as it comes
      const wire = new Meter(limits.wireBytes, () => wireTooLarge(limits));
      payload.on('error', (err) => wire.destroy(err));
      wire.once('close', () => {
        metrics.bytes.inc({ encoding, form: 'wire' }, wire.bytes);
        metrics.bytes.inc({ encoding, form: 'decoded' }, wire.bytes);
      });
      return payload.pipe(wire);
    }
    const wire = new Meter(limits.wireBytes, () => wireTooLarge(limits));
    const gunzip = createGunzip();
    const decoded = new Meter(limits.decodedBytes, () => inflatesTooLarge(limits));
    // what the body parser compares with Content-Length: the bytes received, not the inflated ones
    Object.defineProperty(decoded, 'receivedEncodedLength', { get: () => wire.bytes });
    let failed = false;
    const fail = (err: Error) => {
      if (failed) return;
      failed = true;
      // the request itself stays open: the 413/400 answer goes out on it (and the connection is closed after)
      payload.unpipe(wire);
      wire.destroy();
      gunzip.destroy();
      if (!decoded.destroyed) decoded.destroy(err);
    };
    payload.on('error', fail);
    wire.on('error', fail);
    gunzip.on('error', (err) =>
      fail(
        err instanceof BodyError
          ? err
          : new BodyError(400, `the request body is not valid gzip (content-encoding: gzip): ${err.message}`),
      ),
    );
    decoded.on('error', fail);
    decoded.once('close', () => {
      metrics.bytes.inc({ encoding, form: 'wire' }, wire.bytes);
      metrics.bytes.inc({ encoding, form: 'decoded' }, decoded.bytes);
    });
    payload.pipe(wire).pipe(gunzip).pipe(decoded);
    return decoded;
  };
}
