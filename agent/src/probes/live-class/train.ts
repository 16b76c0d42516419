// The packet train of the live-class probe: RTP-sized packets every intervalMs over one link (a connected
// UDP socket or one TCP connection), each echo matched by its sequence number and send timestamp.
import { randomInt } from 'node:crypto';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { lookup } from 'node:dns/promises';
import { connect as tcpConnect } from 'node:net';
import { raceAbort } from '../lib/net-util.js';

/** Packet header: magic, run id, sequence number (uint32 each), send time (float64, performance.now()). */
const MAGIC = 0x43574c43; // "CWLC"
export const HEADER_BYTES = 20;

export interface TrainSpec {
  host: string;
  port: number;
  transport: 'udp-echo' | 'tcp';
  packets: number;
  packetBytes: number;
  intervalMs: number;
  /** How the UDP train finds the platform's address; default: the system resolver (node's dns lookup). */
  lookup?: HostLookup;
}

/** A host name to one address, as node's `dns.promises.lookup` gives it. */
export type HostLookup = (host: string) => Promise<{ address: string; family: number }>;

export interface TrainRun {
  sent: number;
  /** Round-trip times of the echoed packets, ms, in arrival order. */
  rtts: number[];
  /** What stopped the train early (a refused or reset link, a failed name lookup), if anything did. */
  failure?: unknown;
}

/** One open link to the platform: send a packet; echoes and failures come back through the callbacks. */
interface Link {
  send(packet: Buffer): void;
  close(): void;
}
type Opener = (
  spec: TrainSpec,
  onEcho: (packet: Buffer) => void,
  onFail: (err: unknown) => void,
) => Promise<Link>;

/** Waits for `event` on an emitter, rejecting on its `error`. */
function once(emitter: UdpSocket | import('node:net').Socket, event: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const ok = () => {
      emitter.off('error', fail);
      resolve();
    };
    const fail = (err: unknown) => {
      emitter.off(event, ok);
      reject(err);
    };
    emitter.once(event, ok);
    emitter.once('error', fail);
  });
}

const openUdp: Opener = async (spec, onEcho, onFail) => {
  const { address, family } = await (spec.lookup ?? lookup)(spec.host);
  const socket = createSocket(family === 6 ? 'udp6' : 'udp4');
  try {
    socket.connect(spec.port, address);
    await once(socket, 'connect');
  } catch (err) {
    socket.close();
    throw err;
  }
  // a connected socket takes datagrams from the platform's address only; an ICMP port unreachable is ECONNREFUSED
  socket.on('message', onEcho);
  socket.on('error', onFail);
  return {
    send: (p) => socket.send(p, (err) => err && onFail(err)),
    close: () => socket.close(),
  };
};

const openTcp: Opener = async (spec, onEcho, onFail) => {
  const socket = tcpConnect({ host: spec.host, port: spec.port, noDelay: true });
  try {
    await once(socket, 'connect');
  } catch (err) {
    socket.destroy();
    throw err;
  }
  // the echo comes back as a stream: cut it into the packets that were sent (all of one size)
  let pending: Buffer = Buffer.alloc(0);
  socket.on('data', (chunk: Buffer) => {
    pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
    while (pending.length >= spec.packetBytes) {
      onEcho(pending.subarray(0, spec.packetBytes));
      pending = pending.subarray(spec.packetBytes);
    }
  });
  socket.on('error', onFail);
  socket.on('close', () => onFail(new Error('the platform closed the connection')));
  return {
    send: (p) => {
      socket.write(p);
    },
    close: () => socket.destroy(),
  };
};

/**
 * Sends the train and collects the echoes until every packet is answered, the link fails or `signal` aborts
 * (the probe's deadline: a packet not echoed by then is lost). Never throws; timers and sockets are released.
 */
export async function runTrain(spec: TrainSpec, signal: AbortSignal): Promise<TrainRun> {
  const runId = randomInt(2 ** 32);
  const sentAt: number[] = [];
  const answered = new Set<number>();
  const rtts: number[] = [];
  let failure: unknown;
  let finish = () => {};
  const done = new Promise<void>((resolve) => {
    finish = resolve;
  });
  const onEcho = (p: Buffer) => {
    const now = performance.now();
    if (p.length < HEADER_BYTES || p.readUInt32BE(0) !== MAGIC || p.readUInt32BE(4) !== runId) return;
    const seq = p.readUInt32BE(8);
    const t = p.readDoubleBE(12);
    // a stray, corrupted or duplicated echo is not a second answer
    if (sentAt[seq] !== t || answered.has(seq)) return;
    answered.add(seq);
    rtts.push(now - t);
    if (answered.size === spec.packets) finish();
  };
  const onFail = (err: unknown) => {
    if (answered.size === spec.packets) return;
    failure ??= err;
    finish();
  };
  const open = spec.transport === 'tcp' ? openTcp : openUdp;
  const opening = open(spec, onEcho, onFail).then(
    (link) => ({ link }),
    (err: unknown) => ({ err }),
  );
  const opened = await raceAbort(opening, signal);
  if (opened.aborted) {
    // the link may still open after the deadline: close it then
    void opening.then((o) => 'link' in o && o.link.close());
    return { sent: 0, rtts, failure: new Error('no connection before the deadline') };
  }
  if ('err' in opened.value) return { sent: 0, rtts, failure: opened.value.err };
  const { link } = opened.value;
  signal.addEventListener('abort', finish, { once: true });
  if (signal.aborted) finish();
  let timer: NodeJS.Timeout | undefined;
  let sent = 0;
  const t0 = performance.now();
  const sendNext = (seq: number) => {
    if (signal.aborted || failure !== undefined) return;
    const p = Buffer.alloc(spec.packetBytes);
    p.writeUInt32BE(MAGIC, 0);
    p.writeUInt32BE(runId, 4);
    p.writeUInt32BE(seq, 8);
    const t = performance.now();
    p.writeDoubleBE(t, 12);
    sentAt[seq] = t;
    link.send(p);
    sent++;
    if (seq + 1 < spec.packets)
      // paced from the train's start, so that a late timer does not stretch the train
      timer = setTimeout(
        () => sendNext(seq + 1),
        Math.max(0, t0 + (seq + 1) * spec.intervalMs - performance.now()),
      );
  };
  sendNext(0);
  await done;
  clearTimeout(timer);
  signal.removeEventListener('abort', finish);
  const stopped = failure;
  link.close();
  return { sent, rtts, ...(stopped !== undefined ? { failure: stopped } : {}) };
}
