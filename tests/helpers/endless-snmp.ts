/**
 * Test peer: an SNMP v2c agent on 127.0.0.1 (a UDP socket on a free port, messages encoded here in BER)
 * whose ifOperStatus (or ifName) column never ends: every GETNEXT/GETBULK under it is answered with the next rows,
 * index after index, for as long as it is asked — as a broken or hostile device would. GET answers
 * sysUpTime.0 and sysDescr.0; anything else is noSuchObject / endOfMibView.
 */
import { createSocket, type Socket } from 'node:dgram';
import type { AddressInfo } from 'node:net';

const IF_OPER_STATUS = '1.3.6.1.2.1.2.2.1.8';
const SYS_UPTIME = '1.3.6.1.2.1.1.3.0';
const SYS_DESCR = '1.3.6.1.2.1.1.1.0';

const TAG = {
  integer: 0x02,
  octetString: 0x04,
  oid: 0x06,
  sequence: 0x30,
  timeTicks: 0x43,
  get: 0xa0,
  getNext: 0xa1,
  response: 0xa2,
  getBulk: 0xa5,
  noSuchObject: 0x80,
  endOfMibView: 0x82,
} as const;

function encodeLength(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

function tlv(tag: number, value: Buffer): Buffer {
  return Buffer.concat([Buffer.from([tag]), encodeLength(value.length), value]);
}

/** A non-negative integer in two's complement, as few bytes as it takes. */
function encodeUnsigned(tag: number, n: number): Buffer {
  const bytes: number[] = [];
  let v = n;
  do {
    bytes.unshift(v & 0xff);
    v = Math.floor(v / 256);
  } while (v > 0);
  if ((bytes[0] ?? 0) & 0x80) bytes.unshift(0);
  return tlv(tag, Buffer.from(bytes));
}

function encodeOid(oid: string): Buffer {
  const parts = oid.split('.').map(Number);
  const out: number[] = [40 * (parts[0] ?? 0) + (parts[1] ?? 0)];
  for (const p of parts.slice(2)) {
    const chunk: number[] = [p & 0x7f];
    for (let v = Math.floor(p / 128); v > 0; v = Math.floor(v / 128)) chunk.unshift((v & 0x7f) | 0x80);
    out.push(...chunk);
  }
  return tlv(TAG.oid, Buffer.from(out));
}

function decodeOid(b: Buffer): string {
  const first = b[0] ?? 0;
  const parts = [Math.floor(first / 40), first % 40];
  let v = 0;
  for (const byte of b.subarray(1)) {
    v = v * 128 + (byte & 0x7f);
    if ((byte & 0x80) === 0) {
      parts.push(v);
      v = 0;
    }
  }
  return parts.join('.');
}

interface Tlv {
  tag: number;
  value: Buffer;
  /** The whole TLV, header included. */
  raw: Buffer;
}

function readTlvs(b: Buffer): Tlv[] {
  const out: Tlv[] = [];
  let i = 0;
  while (i < b.length) {
    const tag = b[i] ?? 0;
    let len = b[i + 1] ?? 0;
    let header = 2;
    if (len & 0x80) {
      const n = len & 0x7f;
      len = 0;
      for (let k = 0; k < n; k++) len = len * 256 + (b[i + 2 + k] ?? 0);
      header += n;
    }
    out.push({ tag, value: b.subarray(i + header, i + header + len), raw: b.subarray(i, i + header + len) });
    i += header + len;
  }
  return out;
}

function decodeInt(b: Buffer): number {
  let v = 0;
  for (const byte of b) v = v * 256 + byte;
  return v;
}

export interface EndlessSnmpAgent {
  readonly port: number;
  readonly community: string;
  /** GETNEXT/GETBULK requests answered so far. */
  readonly walkRequests: number;
  /** Rows of the endless column sent so far. */
  readonly rowsSent: number;
  close(): Promise<void>;
}

export interface EndlessSnmpOptions {
  community?: string;
  /** Wait this long before each answer to a walk request (well within the client's timeout). */
  answerDelayMs?: number;
  /** ifOperStatus of every row: 2 (down) unless given. */
  operStatus?: number;
  /** The endless column: ifOperStatus (default) or ifName (`Gi0/<index>` in every row). */
  column?: 'ifOperStatus' | 'ifName';
}

const IF_NAME = '1.3.6.1.2.1.31.1.1.1.1';

/** Starts the endless agent on 127.0.0.1 and a free UDP port. */
export async function startEndlessSnmpAgent(opts: EndlessSnmpOptions = {}): Promise<EndlessSnmpAgent> {
  const community = opts.community ?? 'endless';
  const operStatus = opts.operStatus ?? 2;
  const column = opts.column === 'ifName' ? IF_NAME : IF_OPER_STATUS;
  const value = (index: number) =>
    column === IF_NAME
      ? tlv(TAG.octetString, Buffer.from(`Gi0/${index}`))
      : encodeUnsigned(TAG.integer, operStatus);
  const socket: Socket = createSocket('udp4');
  const timers = new Set<NodeJS.Timeout>();
  let walkRequests = 0;
  let rowsSent = 0;

  const answer = (msg: Buffer, rinfo: { address: string; port: number }) => {
    const [message] = readTlvs(msg);
    if (!message || message.tag !== TAG.sequence) return;
    const [version, comm, pdu] = readTlvs(message.value);
    if (!version || !comm || !pdu || comm.value.toString('latin1') !== community) return;
    const [requestId, a, b, varbindList] = readTlvs(pdu.value);
    if (!requestId || !a || !b || !varbindList) return;
    const oids = readTlvs(varbindList.value).map((vb) => {
      const [name] = readTlvs(vb.value);
      return decodeOid(name?.value ?? Buffer.alloc(0));
    });
    const varbinds: Buffer[] = [];
    const bind = (oid: string, value: Buffer) =>
      varbinds.push(tlv(TAG.sequence, Buffer.concat([encodeOid(oid), value])));
    let delay = 0;
    if (pdu.tag === TAG.get) {
      for (const oid of oids) {
        if (oid === SYS_UPTIME) bind(oid, encodeUnsigned(TAG.timeTicks, 424_242));
        else if (oid === SYS_DESCR)
          bind(oid, tlv(TAG.octetString, Buffer.from('endless ifTable test agent')));
        else bind(oid, Buffer.from([TAG.noSuchObject, 0]));
      }
    } else if (pdu.tag === TAG.getNext || pdu.tag === TAG.getBulk) {
      walkRequests++;
      delay = opts.answerDelayMs ?? 0;
      const repetitions = pdu.tag === TAG.getBulk ? Math.max(1, decodeInt(b.value)) : 1;
      const oid = oids[0] ?? '';
      if (oid === column || oid.startsWith(`${column}.`)) {
        const last = oid === column ? 0 : Number(oid.slice(column.length + 1).split('.')[0]);
        for (let k = 1; k <= repetitions; k++) {
          bind(`${column}.${last + k}`, value(last + k));
          rowsSent++;
        }
      } else {
        bind(oid, Buffer.from([TAG.endOfMibView, 0]));
      }
    } else {
      return;
    }
    const response = tlv(
      TAG.sequence,
      Buffer.concat([
        encodeUnsigned(TAG.integer, 1),
        tlv(TAG.octetString, comm.value),
        tlv(
          TAG.response,
          Buffer.concat([
            requestId.raw,
            encodeUnsigned(TAG.integer, 0),
            encodeUnsigned(TAG.integer, 0),
            tlv(TAG.sequence, Buffer.concat(varbinds)),
          ]),
        ),
      ]),
    );
    const send = () => socket.send(response, rinfo.port, rinfo.address);
    if (delay <= 0) send();
    else {
      const t = setTimeout(() => {
        timers.delete(t);
        send();
      }, delay);
      timers.add(t);
    }
  };

  socket.on('message', answer);
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(0, '127.0.0.1', () => {
      socket.off('error', reject);
      resolve();
    });
  });
  const port = (socket.address() as AddressInfo).port;
  return {
    port,
    community,
    get walkRequests() {
      return walkRequests;
    },
    get rowsSent() {
      return rowsSent;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const t of timers) clearTimeout(t);
        timers.clear();
        socket.close(() => resolve());
      }),
  };
}
