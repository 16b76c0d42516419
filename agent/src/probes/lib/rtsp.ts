import type { Socket } from 'node:net';
import { urlHost } from '../../inventory.js';
import { errorText } from './net-util.js';

/**
 * The RTSP client the probes share: reachability's `OPTIONS` check (any status line means the service
 * answers) and the security scan's `DESCRIBE` without credentials (does the camera hand out its stream
 * description?). The caller opens the TCP connection (lib/net-util.ts `openTcp`) and owns the socket and
 * the deadline; this file writes one request and reads its answer, never throws, and removes its listeners.
 */

export type RtspMethod = 'OPTIONS' | 'DESCRIBE';

/** Longest status line read before the answer counts as not RTSP. */
export const MAX_STATUS_LINE = 4096;

const STATUS_LINE = /^RTSP\/(\d)\.(\d) (\d{3})(?: .*)?$/;
const HEADER_END = Buffer.from('\r\n\r\n');

/** The status code of an RTSP status line (`RTSP/1.0 200 OK`), or undefined. */
export function parseRtspStatus(line: string): number | undefined {
  const m = STATUS_LINE.exec(line.trim());
  return m?.[3] ? Number(m[3]) : undefined;
}

/** `rtsp://host:port/path`, an IPv6 address in brackets. */
export function rtspUri(address: string, port: number, path: string): string {
  return `rtsp://${urlHost(address)}:${port}${path}`;
}

/** One request's text: the request line, `CSeq`, the extra headers in order, `User-Agent`, the blank line. */
export function rtspRequest(
  method: RtspMethod,
  uri: string,
  cseq: number,
  headers: Readonly<Record<string, string>> = {},
): string {
  const extra = Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`);
  return `${method} ${uri} RTSP/1.0\r\nCSeq: ${cseq}\r\n${extra.join('')}User-Agent: campuswatch\r\n\r\n`;
}

/** How much of the answer to read: its status line, or the whole message (headers and a body up to `maxBody`). */
export type RtspReadUpTo = { upTo: 'status-line' } | { upTo: 'message'; maxBody: number };

/** Why reading stopped before the answer was complete. */
export type RtspReadStop = 'closed' | 'aborted' | 'too-long' | { error: string };

export interface RtspRead {
  /** What arrived (all of it, also when reading stopped early). */
  data: Buffer;
  /** The status line or the whole message arrived. */
  complete: boolean;
  /** Set when it did not: the connection closed or failed, the signal aborted, or the answer grew too long. */
  stop?: RtspReadStop;
}

/** Has the whole message arrived: the headers and `Content-Length` bytes of body (at most `maxBody`)? */
function messageDone(buf: Buffer, maxBody: number): boolean {
  const end = buf.indexOf(HEADER_END);
  if (end < 0) return false;
  const head = buf.subarray(0, end).toString('latin1');
  const len = Number(/^content-length:\s*(\d+)/im.exec(head)?.[1] ?? '0');
  return buf.length >= end + 4 + Math.min(len, maxBody);
}

/** Reads the answer from `socket` until it is complete, too long, the connection ends, or `signal` aborts. */
export function readRtspAnswer(socket: Socket, signal: AbortSignal, want: RtspReadUpTo): Promise<RtspRead> {
  const done =
    want.upTo === 'status-line'
      ? (b: Buffer) => b.includes(0x0a)
      : (b: Buffer) => messageDone(b, want.maxBody);
  const max = want.upTo === 'status-line' ? MAX_STATUS_LINE : want.maxBody + 8192;
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const finish = (stop?: RtspReadStop) => {
      socket.removeListener('data', onData);
      socket.removeListener('end', onClose);
      socket.removeListener('close', onClose);
      socket.removeListener('error', onError);
      signal.removeEventListener('abort', onAbort);
      const data = Buffer.concat(chunks);
      const complete = done(data);
      resolve(complete || stop === undefined ? { data, complete } : { data, complete, stop });
    };
    const onData = (chunk: Buffer) => {
      chunks.push(chunk);
      size += chunk.length;
      if (done(Buffer.concat(chunks))) finish();
      else if (size > max) finish('too-long');
    };
    const onClose = () => finish('closed');
    const onError = (err: Error) => finish({ error: errorText(err) });
    const onAbort = () => finish('aborted');
    socket.on('data', onData);
    socket.once('end', onClose);
    socket.once('close', onClose);
    socket.on('error', onError);
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
  });
}

export interface RtspAnswer {
  /** The first line, without its line end (at most MAX_STATUS_LINE characters). */
  statusLine: string;
  /** Its status code, when it is an RTSP status line. */
  status?: number;
  /** The status line and the headers (latin1). */
  head: string;
  /** What followed the blank line (latin1). */
  body: string;
}

/** Splits what `readRtspAnswer` read into status line, status, head and body. */
export function parseRtspAnswer(data: Buffer): RtspAnswer {
  const text = data.toString('latin1');
  const end = text.indexOf('\r\n\r\n');
  const head = end >= 0 ? text.slice(0, end) : text;
  const body = end >= 0 ? text.slice(end + 4) : '';
  const nl = head.indexOf('\n');
  const statusLine = (nl >= 0 ? head.slice(0, nl) : head).replace(/\r$/, '').slice(0, MAX_STATUS_LINE);
  const status = parseRtspStatus(statusLine);
  return status === undefined ? { statusLine, head, body } : { statusLine, status, head, body };
}
