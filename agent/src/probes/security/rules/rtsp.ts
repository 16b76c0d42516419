// Rule family "rtsp": rtsp-no-auth — a camera or recorder that describes its stream without credentials.
import type { ResolvedCheck } from '../../../inventory.js';
import { deadline } from '../../lib/deadline.js';
import { openTcp } from '../../lib/net-util.js';
import { parseRtspAnswer, readRtspAnswer, rtspRequest, rtspUri } from '../../lib/rtsp.js';
import { type DevicePlan, portVerdict } from '../check.js';
import { clean, quote, type Verdict } from '../verdict.js';

const MAX_BODY = 64 * 1024;
/** Device types that stream video over RTSP (checked even without an rtsp check in the inventory). */
const RTSP_TYPES = new Set(['camera', 'encoder', 'recorder', 'nvr']);

async function rtspCheck(
  address: string,
  port: number,
  path: string,
  timeoutMs: number,
  signal: AbortSignal,
): Promise<Verdict> {
  const d = deadline(signal, timeoutMs * 2);
  try {
    const c = await openTcp({ host: address, port, timeoutMs, signal: d.signal });
    if (c.outcome !== 'ok' || !c.socket) {
      const v = portVerdict(c, 'TCP', port, timeoutMs, signal);
      return v.outcome === 'ok' ? { ...v, evidence: `${v.evidence}: no RTSP` } : v;
    }
    const socket = c.socket;
    try {
      socket.write(rtspRequest('DESCRIBE', rtspUri(address, port, path), 2, { Accept: 'application/sdp' }));
      const read = await readRtspAnswer(socket, d.signal, { upTo: 'message', maxBody: MAX_BODY });
      const { statusLine, status, head, body } = parseRtspAnswer(read.data);
      if (status === undefined) {
        if (d.signal.aborted && read.data.length === 0) {
          return {
            outcome: 'timeout',
            finding: false,
            evidence: `no RTSP answer to DESCRIBE within ${timeoutMs * 2} ms`,
            error: signal.aborted ? 'the scan deadline passed' : 'no RTSP answer in time',
          };
        }
        return {
          outcome: 'error',
          finding: false,
          evidence: `TCP ${port} open but no RTSP status line`,
          error: `not an RTSP answer: ${quote(statusLine, 100)}`,
        };
      }
      const type = /^content-type:\s*([^\r\n;]+)/im.exec(head)?.[1]?.trim() ?? '';
      const sdp = /application\/sdp/i.test(type) || /^v=0\r?$/m.test(body);
      if (status === 200 && sdp) {
        const media = body.match(/^m=\w+/gm)?.map((s) => s.slice(2)) ?? [];
        const session = /^s=(.*)$/m.exec(body)?.[1];
        return {
          outcome: 'ok',
          finding: true,
          evidence: `DESCRIBE ${path} without credentials: ${quote(statusLine, 100)}, SDP ${Buffer.byteLength(body, 'latin1')} bytes${media.length > 0 ? ` (media: ${media.join(', ')})` : ''}${session !== undefined ? `, session ${quote(session, 80)}` : ''}`,
        };
      }
      const challenge = /^www-authenticate:\s*(\w+)/im.exec(head)?.[1];
      const extra =
        status === 401 && challenge !== undefined
          ? ` (authentication required: ${clean(challenge, 20)})`
          : status === 200
            ? ' without an SDP body'
            : '';
      return {
        outcome: 'ok',
        finding: false,
        evidence: `DESCRIBE ${path}: ${quote(statusLine, 100)}${extra}`,
      };
    } finally {
      socket.destroy();
    }
  } finally {
    d.clear();
  }
}

/** rtsp-no-auth: devices with an rtsp check (its port and path), and video devices by type (default port, path /). */
export const rtspPlan: DevicePlan = (d, env) => {
  const rtspChecks = d.device.checks.filter(
    (c): c is Extract<ResolvedCheck, { kind: 'rtsp' }> => c.kind === 'rtsp',
  );
  const targets =
    rtspChecks.length > 0
      ? rtspChecks.map((c) => ({ port: c.port, path: c.path }))
      : RTSP_TYPES.has(d.device.ref.type ?? '')
        ? [{ port: env.ports['rtsp-no-auth'], path: '/' }]
        : [];
  const seenPorts = new Set<number>();
  return targets.flatMap((t) => {
    if (seenPorts.has(t.port)) return [];
    seenPorts.add(t.port);
    return [
      {
        subjects: [d.subject('rtsp-no-auth', t.port)],
        run: () =>
          d.withAddress(1, async (a) => [await rtspCheck(a, t.port, t.path, env.timeoutMs, env.signal)]),
      },
    ];
  });
};
