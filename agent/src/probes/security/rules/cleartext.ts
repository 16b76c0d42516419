// Rule family "cleartext": services that carry logins in clear text — Telnet, FTP, TFTP, and an HTTP
// admin page without HTTPS (cleartext-telnet, cleartext-ftp, cleartext-tftp, http-admin-no-tls).
import { randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { type AgentPair, HttpTimeoutError, smallRequest } from '../../../http-client.js';
import { urlHost } from '../../../inventory.js';
import { deadline } from '../../lib/deadline.js';
import {
  decodeText,
  errnoCode,
  errorText,
  type Family,
  openTcp,
  outcomeOfErrno,
  tcpConnect,
} from '../../lib/net-util.js';
import { type DevicePlan, portVerdict, readUntil, tcpPortCheck } from '../check.js';
import { clean, quote, type Verdict } from '../verdict.js';

const MAX_BODY = 64 * 1024;

/** cleartext-telnet: the Telnet port open is the problem. */
export const telnetPlan: DevicePlan = (d, env) => {
  const port = env.ports['cleartext-telnet'];
  return [
    {
      subjects: [d.subject('cleartext-telnet', port)],
      run: () => d.withAddress(1, async (a) => [await tcpPortCheck(a, port, env.timeoutMs, env.signal)]),
    },
  ];
};

/** FTP: the port open is the problem; the 220 greeting is the evidence when it arrives in time. */
async function ftpCheck(
  host: string,
  port: number,
  timeoutMs: number,
  signal: AbortSignal,
): Promise<Verdict> {
  const d = deadline(signal, timeoutMs * 2);
  try {
    const c = await openTcp({ host, port, timeoutMs, signal: d.signal });
    if (c.outcome !== 'ok' || !c.socket) return portVerdict(c, 'TCP', port, timeoutMs, signal);
    const socket = c.socket;
    try {
      const read = await readUntil(socket, d.signal, (b) => b.includes(0x0a), 1024);
      const line = read.data.toString('latin1').split(/\r?\n/)[0] ?? '';
      if (line.trim() !== '') {
        socket.end('QUIT\r\n');
        return { outcome: 'ok', finding: true, evidence: `TCP ${port} open; banner ${quote(line)}` };
      }
      return {
        outcome: 'ok',
        finding: true,
        evidence: `TCP ${port} open; no FTP greeting within ${timeoutMs * 2} ms`,
      };
    } finally {
      socket.destroy();
    }
  } finally {
    d.clear();
  }
}

/** cleartext-ftp: the FTP port open, with its greeting as evidence. */
export const ftpPlan: DevicePlan = (d, env) => {
  const port = env.ports['cleartext-ftp'];
  return [
    {
      subjects: [d.subject('cleartext-ftp', port)],
      run: () => d.withAddress(1, async (a) => [await ftpCheck(a, port, env.timeoutMs, env.signal)]),
    },
  ];
};

/** A TFTP read request (RFC 1350): opcode 1, file name, mode "octet". */
export function tftpReadRequest(file: string): Buffer {
  return Buffer.concat([
    Buffer.from([0, 1]),
    Buffer.from(file, 'ascii'),
    Buffer.from([0]),
    Buffer.from('octet', 'ascii'),
    Buffer.from([0]),
  ]);
}

function sameAddress(a: string, b: string): boolean {
  return a.replace(/^::ffff:/, '') === b.replace(/^::ffff:/, '');
}

/**
 * Sends one RRQ for a file that does not exist and waits for any TFTP answer (ERROR or DATA, which a
 * server sends from a new port). A DATA packet is answered with an ERROR so the server stops. No
 * reply: not found (closed or filtered — UDP cannot tell them apart).
 */
async function tftpCheck(
  address: string,
  family: Family,
  port: number,
  timeoutMs: number,
  signal: AbortSignal,
): Promise<Verdict> {
  if (signal.aborted)
    return { outcome: 'timeout', finding: false, evidence: 'the scan deadline passed', error: 'aborted' };
  const socket = createSocket(family === 6 ? 'udp6' : 'udp4');
  const file = `campuswatch-${randomBytes(6).toString('hex')}.absent`;
  return new Promise<Verdict>((resolve) => {
    let settled = false;
    const finish = (v: Verdict) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      socket.close();
      resolve(v);
    };
    socket.on('message', (msg, rinfo) => {
      if (!sameAddress(rinfo.address, address) || msg.length < 4) return;
      const opcode = msg.readUInt16BE(0);
      if (opcode === 5) {
        const code = msg.readUInt16BE(2);
        const end = msg.indexOf(0, 4);
        const text = msg.subarray(4, end < 0 ? msg.length : end).toString('latin1');
        finish({
          outcome: 'ok',
          finding: true,
          evidence: `UDP ${port} answered a TFTP read request with ERROR ${code} ${quote(text, 100)}`,
        });
      } else if (opcode === 3) {
        const block = msg.readUInt16BE(2);
        const stop = Buffer.concat([Buffer.from([0, 5, 0, 0]), Buffer.from('not wanted\0', 'ascii')]);
        socket.send(stop, rinfo.port, rinfo.address, () => {
          finish({
            outcome: 'ok',
            finding: true,
            evidence: `UDP ${port} answered a TFTP read request with DATA block ${block} (${msg.length - 4} bytes)`,
          });
        });
      }
    });
    socket.on('error', (err) => {
      finish({
        outcome: outcomeOfErrno(errnoCode(err)),
        finding: false,
        evidence: `cannot tell whether TFTP answers on UDP ${port}`,
        error: errorText(err),
      });
    });
    const onAbort = () =>
      finish({
        outcome: 'timeout',
        finding: false,
        evidence: `the scan deadline passed before a TFTP answer on UDP ${port}`,
        error: 'aborted',
      });
    const timer = setTimeout(
      () =>
        finish({
          outcome: 'ok',
          finding: false,
          evidence: `no TFTP reply on UDP ${port} within ${timeoutMs} ms (closed or filtered)`,
        }),
      timeoutMs,
    );
    signal.addEventListener('abort', onAbort, { once: true });
    socket.send(tftpReadRequest(file), port, address);
  });
}

/** cleartext-tftp: any TFTP answer to a read request for a file that does not exist. */
export const tftpPlan: DevicePlan = (d, env) => {
  const port = env.ports['cleartext-tftp'];
  return [
    {
      subjects: [d.subject('cleartext-tftp', port)],
      run: () => d.withAddress(1, async (a, f) => [await tftpCheck(a, f, port, env.timeoutMs, env.signal)]),
    },
  ];
};

const ADMIN_PAGE =
  /type\s*=\s*["']?password|\blog\s?in\b|\blogon\b|\bsign\s?in\b|\badmin|\bmanagement\b|\bpassword\b|登录|登陆|管理|密码|用户名/i;

export function htmlTitle(html: string): string | undefined {
  const m = /<title[^>]*>([\s\S]*?)<\/title>/i.exec(html);
  return m?.[1] !== undefined ? clean(m[1].replace(/\s+/g, ' '), 200) : undefined;
}

async function httpAdminCheck(
  address: string,
  httpPort: number,
  httpsPort: number,
  timeoutMs: number,
  signal: AbortSignal,
  agents: AgentPair,
): Promise<Verdict> {
  const url = new URL(`http://${urlHost(address)}:${httpPort}/`);
  const d = deadline(signal, timeoutMs * 2);
  let status: number;
  let title: string | undefined;
  let admin: boolean;
  let why: string;
  try {
    const res = await smallRequest(url, {
      method: 'GET',
      signal: d.signal,
      agent: agents.for(url),
      headers: { 'user-agent': 'campuswatch' },
      connectTimeoutMs: timeoutMs * 2,
      headersTimeoutMs: timeoutMs * 2,
      maxBody: MAX_BODY,
      partialBody: true,
    });
    status = res.status;
    const body = res.bodyError ? Buffer.alloc(0) : res.bytes;
    const location = res.headers.location;
    const auth = res.headers['www-authenticate'];
    const html = decodeText(body);
    title = htmlTitle(html);
    if (status >= 300 && status < 400 && typeof location === 'string' && /^https:/i.test(location)) {
      return {
        outcome: 'ok',
        finding: false,
        evidence: `HTTP ${status} on port ${httpPort} redirects to ${quote(location, 200)}`,
      };
    }
    if (status === 401 && auth !== undefined) {
      admin = true;
      why = `HTTP authentication (${clean(String(auth).split(/\s/)[0] ?? '', 20)})`;
    } else {
      admin = status < 400 && ADMIN_PAGE.test(html);
      why = admin ? 'a login/admin page' : 'no login or admin page seen';
    }
  } catch (err) {
    if (d.signal.aborted) {
      return {
        outcome: 'timeout',
        finding: false,
        evidence: `no HTTP answer on port ${httpPort} within ${timeoutMs * 2} ms`,
        error: signal.aborted ? 'the scan deadline passed' : `no HTTP answer within ${timeoutMs * 2} ms`,
      };
    }
    const inner = err instanceof Error && err.cause !== undefined ? err.cause : err;
    const code = errnoCode(inner) ?? errnoCode(err);
    if (code === 'ECONNREFUSED')
      return { outcome: 'ok', finding: false, evidence: `TCP ${httpPort} refused (no HTTP)` };
    if (err instanceof HttpTimeoutError && err.phase === 'connect')
      return {
        outcome: 'timeout',
        finding: false,
        evidence: `no answer on TCP ${httpPort} within ${timeoutMs} ms`,
        error: 'connect timeout',
      };
    return {
      outcome: outcomeOfErrno(code),
      finding: false,
      evidence: `cannot tell: the HTTP request to port ${httpPort} failed`,
      error: `HTTP request failed (${code ?? 'error'}): ${errorText(inner)}`,
    };
  } finally {
    d.clear();
  }
  const seen = `HTTP ${status} on port ${httpPort}${title !== undefined ? `, title ${quote(title)}` : ''}`;
  if (!admin) return { outcome: 'ok', finding: false, evidence: `${seen}: ${why}` };
  const tls = await tcpConnect({ host: address, port: httpsPort, timeoutMs, signal });
  if (tls.outcome === 'ok')
    return {
      outcome: 'ok',
      finding: false,
      evidence: `${seen}: ${why}, but TCP ${httpsPort} (HTTPS) also answers`,
    };
  const closed =
    tls.outcome === 'refused' ? 'refused' : tls.outcome === 'timeout' ? 'no answer' : tls.outcome;
  return {
    outcome: 'ok',
    finding: true,
    evidence: `${seen}: ${why} over cleartext; TCP ${httpsPort} (HTTPS) ${closed}`,
  };
}

/** http-admin-no-tls: a login or admin page over HTTP while nothing answers on the HTTPS port. */
export const httpAdminPlan: DevicePlan = (d, env) => {
  const port = env.ports['http-admin-no-tls'];
  return [
    {
      subjects: [d.subject('http-admin-no-tls', port)],
      run: () =>
        d.withAddress(1, async (a) => [
          await httpAdminCheck(a, port, env.ports.https, env.timeoutMs, env.signal, env.agents),
        ]),
    },
  ];
};
