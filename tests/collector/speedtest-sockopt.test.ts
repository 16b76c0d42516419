import { createServer, type Server } from 'node:http';
import { type AddressInfo, connect, createServer as createNetServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import {
  loadSockopt,
  receiveLowWater,
  setReceiveLowWater,
  socketFd,
} from '../../collector/src/speedtest/sockopt.js';
import {
  type Admission,
  attachUploadSink,
  UPLOAD_PROTOCOL,
} from '../../collector/src/speedtest/upload-sink.js';

describe('receiveLowWater', () => {
  it('defaults to 128 KiB; CAMPUSWATCH_RCVLOWAT overrides it, 0 turns it off, nonsense is ignored', () => {
    expect(receiveLowWater({})).toBe(131_072);
    expect(receiveLowWater({ CAMPUSWATCH_RCVLOWAT: '65536' })).toBe(65_536);
    expect(receiveLowWater({ CAMPUSWATCH_RCVLOWAT: '0' })).toBe(0);
    expect(receiveLowWater({ CAMPUSWATCH_RCVLOWAT: 'lots' })).toBe(131_072);
    expect(receiveLowWater({ CAMPUSWATCH_RCVLOWAT: '-1' })).toBe(131_072);
  });
});

const sockopt = loadSockopt();
const noAddon = sockopt.addon
  ? undefined
  : `the native/sockopt addon is not available (${sockopt.reason}); build it with scripts/build-native.sh`;
if (noAddon) console.warn(`[speedtest-sockopt.test] SO_RCVLOWAT tests SKIPPED: ${noAddon}`);

/** Upgrades to an upload stream by hand and returns the socket once the 101 has arrived. */
async function openUpload(
  port: number,
): Promise<{ sock: ReturnType<typeof connect>; reply: Promise<string> }> {
  const sock = connect(port, '127.0.0.1');
  const chunks: Buffer[] = [];
  let upgraded: () => void;
  const got101 = new Promise<void>((r) => {
    upgraded = r;
  });
  sock.on('data', (d: Buffer) => {
    chunks.push(d);
    if (Buffer.concat(chunks).includes('\r\n\r\n')) upgraded();
  });
  const reply = new Promise<string>((resolve, reject) => {
    sock.on('error', reject);
    sock.on('close', () => resolve(Buffer.concat(chunks).toString('utf8')));
  });
  sock.write(
    `GET /api/v1/speedtest/upload?slot=s HTTP/1.1\r\nhost: x\r\nconnection: upgrade\r\nupgrade: ${UPLOAD_PROTOCOL}\r\n\r\n`,
  );
  await got101;
  return { sock, reply };
}

describe.skipIf(noAddon !== undefined)(
  `collector upload sink with SO_RCVLOWAT (native/sockopt)${noAddon ? ` (SKIPPED: ${noAddon})` : ''}`,
  () => {
    let server: Server | undefined;
    afterEach(async () => {
      server?.closeAllConnections();
      await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
      server = undefined;
    });

    it('loads, sets the option and reads it back with getsockopt', async () => {
      const listener = createNetServer((c) => c.end());
      await new Promise<void>((r) => listener.listen(0, '127.0.0.1', r));
      try {
        const sock = connect((listener.address() as AddressInfo).port, '127.0.0.1');
        await new Promise<void>((r, j) => sock.once('connect', r).once('error', j));
        const { addon } = sockopt;
        expect(setReceiveLowWater(sock, 131_072)).toBe(true);
        expect(addon!.getInt(socketFd(sock)!, addon!.SOL_SOCKET, addon!.SO_RCVLOWAT)).toBe(131_072);
        sock.destroy();
        expect(setReceiveLowWater(sock, 131_072)).toBe(false); // no descriptor any more: nothing set
      } finally {
        await new Promise<void>((r) => listener.close(() => r()));
      }
    });

    for (const mode of ['sync', 'async'] as const) {
      it(`counts an upload exactly (${mode} admission); bytes short of the mark arrive with the FIN`, async () => {
        let counted = 0;
        server = createServer();
        const admission: Admission = {
          count: (n) => {
            counted += n;
          },
        };
        attachUploadSink(server, {
          maxSeconds: 30,
          admit: () => (mode === 'sync' ? admission : sleep(10).then(() => admission)),
        });
        await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
        const port = (server.address() as AddressInfo).port;

        // below the 128 KiB mark: the kernel holds the bytes, the collector is not woken
        const small = await openUpload(port);
        small.sock.write(Buffer.alloc(20_003, 1));
        await sleep(300);
        expect(counted).toBe(0);
        small.sock.end();
        expect(JSON.parse((await small.reply).split('\r\n\r\n')[1]!)).toEqual({ bytes: 20_003 });
        expect(counted).toBe(20_003);

        // a large stream whose length is no multiple of the mark: every byte
        counted = 0;
        const big = await openUpload(port);
        const block = Buffer.alloc(64 * 1024, 2);
        for (let i = 0; i < 80; i++) big.sock.write(block);
        big.sock.end(Buffer.alloc(17, 3));
        expect(JSON.parse((await big.reply).split('\r\n\r\n')[1]!)).toEqual({ bytes: 80 * 65_536 + 17 });
        expect(counted).toBe(80 * 65_536 + 17);
      });
    }
  },
);
