import { once } from 'node:events';
import { type AddressInfo, createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { CheckTimeout, deadline, deadlineText, withDeadline } from '../../agent/src/probes/lib/deadline.js';
import { hostTarget } from '../../agent/src/probes/lib/host-target.js';
import { openTcp } from '../../agent/src/probes/lib/net-util.js';
import {
  MAX_STATUS_LINE,
  parseRtspAnswer,
  parseRtspStatus,
  readRtspAnswer,
  rtspRequest,
  rtspUri,
} from '../../agent/src/probes/lib/rtsp.js';

// The shared probe clients of agent/src/probes/lib/ on their own (the probes that use them have their own tests).

describe('hostTarget: the target of a result about the agent’s own machine', () => {
  it('keeps a UTF-8 name as it is and trims it', () => {
    expect(hostTarget('unknown-host', '  星海实验中学-监测盒  ')).toBe('星海实验中学-监测盒');
  });

  it('gives the caller’s fallback when there is no usable name', () => {
    expect(hostTarget('unknown-host', '')).toBe('unknown-host');
    expect(hostTarget('agent-host', ' \t\u0000\n ')).toBe('agent-host');
    expect(hostTarget('agent-host', '\\\\')).toBe('agent-host');
  });

  it('makes a valid tag value: no control characters, no trailing backslash, at most 200 characters', () => {
    expect(hostTarget('x', 'box\u0007one\\')).toBe('box one');
    const long = '校'.repeat(300);
    expect(hostTarget('x', long)).toBe('校'.repeat(200));
  });

  it('reads the machine’s name by default', () => {
    expect(hostTarget('fallback-not-expected').length).toBeGreaterThan(0);
  });
});

describe('deadline: a check’s own time joined with the probe’s signal', () => {
  it('aborts after its own time with a CheckTimeout, and says so', async () => {
    const parent = new AbortController();
    const d = deadline(parent.signal, 20);
    await once(d.signal, 'abort');
    expect(d.signal.reason).toBeInstanceOf(CheckTimeout);
    expect(deadlineText(d.signal)).toBe('no answer within 20 ms');
    expect(parent.signal.aborted).toBe(false);
    d.clear();
  });

  it('aborts at once with the parent’s reason when the parent aborts, and says the probe deadline passed', () => {
    const parent = new AbortController();
    const d = deadline(parent.signal, 60_000);
    const reason = new Error('probe deadline');
    parent.abort(reason);
    expect(d.signal.aborted).toBe(true);
    expect(d.signal.reason).toBe(reason);
    expect(deadlineText(d.signal)).toBe('the probe deadline passed');
    d.clear();
  });

  it('starts aborted under an aborted parent', () => {
    const d = deadline(AbortSignal.abort(), 60_000);
    expect(d.signal.aborted).toBe(true);
    expect(d.signal.reason).not.toBeInstanceOf(CheckTimeout);
    d.clear();
  });

  it('clear() stops the timer and leaves the parent: neither aborts the signal afterwards', () => {
    vi.useFakeTimers();
    try {
      const parent = new AbortController();
      const d = deadline(parent.signal, 10);
      d.clear();
      parent.abort();
      vi.advanceTimersByTime(1000);
      expect(d.signal.aborted).toBe(false);
      expect(vi.getTimerCount()).toBe(0);
    } finally {
      vi.useRealTimers();
    }
  });

  it('withDeadline hands fn the joined signal, removes its timer when fn settles, aborts fn when it runs late', async () => {
    const parent = new AbortController();
    vi.useFakeTimers();
    try {
      await withDeadline(10, parent.signal, async () => {
        expect(vi.getTimerCount()).toBe(1);
      });
      expect(vi.getTimerCount()).toBe(0);
    } finally {
      vi.useRealTimers();
    }
    let seen: AbortSignal | undefined;
    const value = await withDeadline(10, parent.signal, async (signal) => {
      seen = signal;
      return 42;
    });
    expect(value).toBe(42);
    expect(seen?.aborted).toBe(false);
    const late = withDeadline(15, parent.signal, (signal) =>
      once(signal, 'abort').then(() => deadlineText(signal)),
    );
    await expect(late).resolves.toBe('no answer within 15 ms');
  });
});

describe('rtsp: one request, its answer read to the status line or the whole message', () => {
  let server: Server | undefined;
  afterEach(async () => {
    if (server) await new Promise<void>((resolve) => server?.close(() => resolve()));
    server = undefined;
  });

  /** A loopback server that hands each request it receives (the text up to the blank line) to `answer`. */
  async function serve(answer: (request: string, socket: Socket) => void): Promise<number> {
    server = createServer((socket) => {
      let buf = '';
      socket.on('error', () => {});
      socket.on('data', (chunk) => {
        buf += chunk.toString('latin1');
        if (buf.includes('\r\n\r\n')) answer(buf, socket);
      });
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    return (server.address() as AddressInfo).port;
  }

  async function connect(port: number): Promise<Socket> {
    const c = await openTcp({ host: '127.0.0.1', port, timeoutMs: 2000, signal: AbortSignal.timeout(5000) });
    if (c.outcome !== 'ok' || !c.socket) throw new Error(`no connection: ${c.error}`);
    return c.socket;
  }

  it('writes the request line, CSeq, the extra headers in order and User-Agent', () => {
    expect(rtspRequest('DESCRIBE', 'rtsp://10.0.0.9:554/live', 2, { Accept: 'application/sdp' })).toBe(
      'DESCRIBE rtsp://10.0.0.9:554/live RTSP/1.0\r\nCSeq: 2\r\nAccept: application/sdp\r\nUser-Agent: campuswatch\r\n\r\n',
    );
    expect(rtspUri('fd00::9', 8554, '/ch1')).toBe('rtsp://[fd00::9]:8554/ch1');
    expect(rtspUri('摄像机.example.edu.cn', 554, '/')).toBe('rtsp://摄像机.example.edu.cn:554/');
  });

  it('parses status lines strictly', () => {
    expect(parseRtspStatus('RTSP/1.0 401 Unauthorized')).toBe(401);
    expect(parseRtspStatus('RTSP/2.0 200')).toBe(200);
    expect(parseRtspStatus('HTTP/1.1 200 OK')).toBeUndefined();
    expect(parseRtspStatus('RTSP/1.0 2000 OK')).toBeUndefined();
  });

  it('OPTIONS: the status line is enough; the server saw our request', async () => {
    let request = '';
    const port = await serve((req, socket) => {
      request = req;
      socket.write('RTSP/1.0 200 OK\r\nCSeq: 1\r\n'); // the rest of the headers never come
    });
    const socket = await connect(port);
    socket.write(rtspRequest('OPTIONS', rtspUri('127.0.0.1', port, '/'), 1));
    const read = await readRtspAnswer(socket, AbortSignal.timeout(5000), { upTo: 'status-line' });
    socket.destroy();
    expect(request.startsWith(`OPTIONS rtsp://127.0.0.1:${port}/ RTSP/1.0\r\nCSeq: 1\r\n`)).toBe(true);
    expect(read.complete).toBe(true);
    expect(read.stop).toBeUndefined();
    expect(parseRtspAnswer(read.data)).toMatchObject({ statusLine: 'RTSP/1.0 200 OK', status: 200 });
  });

  it('DESCRIBE: reads headers and Content-Length bytes of body, arriving in pieces', async () => {
    const sdp = 'v=0\r\ns=教室一\r\nm=video 0 RTP/AVP 96\r\n';
    const body = Buffer.from(sdp, 'utf8');
    const port = await serve((_req, socket) => {
      const head = `RTSP/1.0 200 OK\r\nCSeq: 2\r\nContent-Type: application/sdp\r\nContent-Length: ${body.length}\r\n\r\n`;
      socket.write(head);
      socket.write(body.subarray(0, 5));
      setImmediate(() => socket.write(body.subarray(5)));
    });
    const socket = await connect(port);
    socket.write(rtspRequest('DESCRIBE', rtspUri('127.0.0.1', port, '/'), 2, { Accept: 'application/sdp' }));
    const read = await readRtspAnswer(socket, AbortSignal.timeout(5000), { upTo: 'message', maxBody: 65536 });
    socket.destroy();
    expect(read.complete).toBe(true);
    const answer = parseRtspAnswer(read.data);
    expect(answer.status).toBe(200);
    expect(answer.head).toMatch(/^content-type: application\/sdp$/im);
    expect(Buffer.from(answer.body, 'latin1').toString('utf8')).toBe(sdp);
  });

  it('a server that closes without a status line: not complete, stopped by the close', async () => {
    const port = await serve((_req, socket) => socket.end('hello'));
    const socket = await connect(port);
    socket.write(rtspRequest('OPTIONS', rtspUri('127.0.0.1', port, '/'), 1));
    const read = await readRtspAnswer(socket, AbortSignal.timeout(5000), { upTo: 'status-line' });
    socket.destroy();
    expect(read).toMatchObject({ complete: false, stop: 'closed' });
    expect(read.data.toString('latin1')).toBe('hello');
    expect(parseRtspAnswer(read.data).status).toBeUndefined();
  });

  it('a status line that never ends stops at MAX_STATUS_LINE bytes (too long, not RTSP)', async () => {
    const port = await serve((_req, socket) => socket.write('x'.repeat(MAX_STATUS_LINE + 100)));
    const socket = await connect(port);
    socket.write(rtspRequest('OPTIONS', rtspUri('127.0.0.1', port, '/'), 1));
    const read = await readRtspAnswer(socket, AbortSignal.timeout(5000), { upTo: 'status-line' });
    socket.destroy();
    expect(read).toMatchObject({ complete: false, stop: 'too-long' });
    const answer = parseRtspAnswer(read.data);
    expect(answer.statusLine.length).toBe(MAX_STATUS_LINE);
    expect(answer.status).toBeUndefined();
  });

  it('a silent server: the caller’s signal ends the read, and the listeners are gone', async () => {
    const port = await serve(() => {});
    const socket = await connect(port);
    socket.write(rtspRequest('OPTIONS', rtspUri('127.0.0.1', port, '/'), 1));
    const ac = new AbortController();
    const reading = readRtspAnswer(socket, ac.signal, { upTo: 'status-line' });
    ac.abort();
    const read = await reading;
    expect(read).toMatchObject({ complete: false, stop: 'aborted' });
    expect(socket.listenerCount('data')).toBe(0);
    expect(socket.listenerCount('close')).toBe(0);
    socket.destroy();
  });
});
