import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { type AddressInfo, connect, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer as createTlsServer } from 'node:tls';
import { afterEach, describe, expect, it } from 'vitest';
import { plainToTlsPort, speaksTls } from '../../agent/src/http-errors.js';
import { issueCert, makeCa, opensslAvailable } from '../helpers/certs.js';
import { skipping } from '../helpers/skip.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function listening(server: Server): Promise<URL> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  cleanups.push(() => new Promise<void>((r) => server.close(() => r())));
  return new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
}

/** A port that accepts connections and never says a word: a TLS handshake to it waits for ever. */
async function silentPort(): Promise<{ url: URL; accepted: Socket[] }> {
  const accepted: Socket[] = [];
  const server = createServer((s) => {
    accepted.push(s);
    s.on('error', () => undefined);
    s.resume(); // reads (and ignores) the handshake, so that the other side's close is seen
  });
  cleanups.push(() => {
    for (const s of accepted) s.destroy();
  });
  return { url: await listening(server), accepted };
}

describe('speaksTls: how long to try is the caller’s signal', () => {
  it('a port that accepts and never answers: the abort ends it at once, its reason the outcome, the connection closed', async () => {
    const { url, accepted } = await silentPort();
    const controller = new AbortController();
    const reason = new DOMException('the check’s time is up', 'TimeoutError');
    const asked = speaksTls(url, controller.signal);
    // the handshake is under way (the port took the connection) and nothing answers it
    await expect.poll(() => accepted.length, { interval: 5 }).toBe(1);
    const abortedAt = performance.now();
    controller.abort(reason);
    await expect(asked).rejects.toBe(reason);
    expect(performance.now() - abortedAt).toBeLessThan(500);
    // the agent's side of the connection is gone: the listener sees it end
    const socket = accepted[0]!;
    if (!socket.readableEnded) await once(socket, 'end');
    expect(socket.readableEnded).toBe(true);
  }, 10_000);

  it('a signal aborted before the call: rejected with its reason without a connection', async () => {
    const { url, accepted } = await silentPort();
    const reason = new Error('cancelled');
    await expect(speaksTls(url, AbortSignal.abort(reason))).rejects.toBe(reason);
    // a connection made after it is the first and only one the port took: none was tried before
    const mine = connect(url.port ? Number(url.port) : 0, '127.0.0.1');
    cleanups.push(() => {
      mine.destroy();
    });
    await expect.poll(() => accepted.length, { interval: 5 }).toBe(1);
    expect(accepted[0]!.remotePort).toBe(mine.localPort);
  });

  it('a plain port that drops the handshake: false, and the signal’s listener is removed', async () => {
    const server = createServer((s) => s.destroy());
    const url = await listening(server);
    const controller = new AbortController();
    expect(await speaksTls(url, controller.signal)).toBe(false);
    // settled: a later abort of the caller's signal changes nothing (no listener left behind)
    controller.abort(new Error('later'));
  });

  it.skipIf(skipping(opensslAvailable(), 'TLS handshake case'))(
    'a TLS port: true within the signal’s time',
    async () => {
      const dir = mkdtempSync(join(tmpdir(), 'cw-speaks-tls-'));
      cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
      const ca = makeCa(dir, 'ca');
      const cert = issueCert(dir, ca, 'server');
      const server = createTlsServer({ key: cert.key, cert: cert.cert }, (s) => s.end());
      const url = await listening(server as unknown as Server);
      expect(await speaksTls(url, AbortSignal.timeout(5000))).toBe(true);
    },
  );

  it('plainToTlsPort: a handshake the caller’s signal ends says nothing for certain (undefined), promptly', async () => {
    const { url } = await silentPort();
    const reset = Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
    const controller = new AbortController();
    const asked = plainToTlsPort(reset, url, controller.signal);
    controller.abort(new Error('the enrolment’s time is up'));
    expect(await asked).toBeUndefined();
  });
});
