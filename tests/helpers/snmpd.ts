/**
 * Test harness: a real net-snmp agent (Debian `snmpd`) started from its own config file only
 * (`-C -c FILE`: never /etc/snmp), with its persistent data in a temporary directory (never
 * /var/lib/snmp), on 127.0.0.1 and a free UDP port — or inside a network namespace bound to a lab
 * address (`ip netns exec <ns> snmpd …`). v2c with a random community and v3 authPriv (SHA/AES) with
 * a random user and random keys.
 *
 * Note: snmpd's `-p FILE` is its PID file, not the persistent directory; the persistent directory is
 * set by `persistentDir` in the config file and by SNMP_PERSISTENT_DIR for snmpd and the CLI tools
 * (which otherwise create /var/lib/snmp/cert_indexes).
 */
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dirs, installExitHook, live } from './exit-cleanup.js';

export const SNMPD_BIN = '/usr/sbin/snmpd';
export const SNMPGET_BIN = '/usr/bin/snmpget';
const SNMPSET_BIN = '/usr/bin/snmpset';
const IP_BIN = '/usr/sbin/ip';
const READY_TIMEOUT_MS = 15_000;
const STOP_TIMEOUT_MS = 10_000;
const OUTPUT_TAIL_BYTES = 8192;
const SYS_UPTIME = '1.3.6.1.2.1.1.3.0';

export interface SnmpdOptions {
  /**
   * snmpd's `agentAddress`, e.g. `udp:10.203.1.1:161` inside a lab namespace. Default:
   * `udp:127.0.0.1:<free port>`.
   */
  agentAddress?: string;
  /** Run snmpd inside this network namespace (`ip netns exec <netns> snmpd …`). */
  netns?: string;
  /** Default: random. */
  community?: string;
  /** Default: random user and keys. */
  v3?: { user: string; authKey: string; privKey: string };
  /**
   * snmpd keeps interface counters in a cache that it reloads by itself every 3 s, so a GET returns
   * counters up to 3 s old. true (default): set that cache's timeout (NET-SNMP-AGENT-MIB
   * nsCacheTimeout for ifTable) to 0 once started, so every GET reads the kernel's counters, as a
   * router's own counters would be read. false: keep snmpd's default.
   */
  freshCounters?: boolean;
}

export interface Snmpd {
  /** Address the agent listens on (an IPv4 literal). */
  readonly host: string;
  readonly port: number;
  readonly agentAddress: string;
  readonly netns: string | undefined;
  readonly community: string;
  /** v3 user with SHA authentication and AES privacy (`rouser … priv`). */
  readonly v3: { user: string; authKey: string; privKey: string };
  readonly pid: number;
  readonly dir: string;
  /** Milliseconds from spawn to the first answer. */
  readonly startupMs: number;
  /** snmpd's output so far (last few KiB). */
  output(): string;
  /** SIGTERM (SIGKILL if it does not exit in time), await exit, remove the temporary directory. */
  stop(): Promise<void>;
}

/** snmpd exited before it answered. */
export class SnmpdExitedError extends Error {
  override readonly name = 'SnmpdExitedError';
}

/** Reason to skip tests that need snmpd, or undefined when it is available. */
export function snmpdAvailable(opts: { netns?: boolean } = {}): string | undefined {
  if (!existsSync(SNMPD_BIN)) return `${SNMPD_BIN} not found (install Debian's snmpd: apt-get install snmpd)`;
  if (!existsSync(SNMPGET_BIN))
    return `${SNMPGET_BIN} not found (install Debian's net-snmp tools: apt-get install snmp)`;
  if (opts.netns) {
    if (process.getuid?.() !== 0) return 'snmpd in a network namespace needs root';
    if (!existsSync(IP_BIN)) return `${IP_BIN} not found (install iproute2)`;
  }
  return undefined;
}

/** A UDP port on 127.0.0.1 that was free a moment ago (bind port 0, read it, close). */
export async function freeUdpPort(host = '127.0.0.1'): Promise<number> {
  const socket = createSocket('udp4');
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(0, host, () => resolve());
    });
    return socket.address().port;
  } finally {
    await new Promise<void>((resolve) => socket.close(() => resolve()));
  }
}

function randomWord(prefix: string): string {
  return `${prefix}${randomBytes(9).toString('base64url')}`;
}

function parseAgentAddress(agentAddress: string): { host: string; port: number } {
  const m = /^udp:(\d{1,3}(?:\.\d{1,3}){3}):(\d{1,5})$/.exec(agentAddress);
  if (!m?.[1] || !m[2])
    throw new RangeError(`agentAddress must look like udp:A.B.C.D:PORT, got ${agentAddress}`);
  return { host: m[1], port: Number(m[2]) };
}

/** nsCacheTimeout.<ifTable OID> (the index is the cached table's OID, IMPLIED). */
const IF_TABLE_CACHE_TIMEOUT = '1.3.6.1.4.1.8072.1.5.3.1.2.1.3.6.1.2.1.2.2';
/** nsCacheTable: the only subtree the helper's write community may touch. */
const NS_CACHE_SUBTREE = '1.3.6.1.4.1.8072.1.5';

function configText(o: {
  dir: string;
  agentAddress: string;
  community: string;
  rwCommunity: string;
  v3: { user: string; authKey: string; privKey: string };
}): string {
  return `# written by tests/helpers/snmpd.ts; snmpd runs with -C -c <this file> only
[snmp] persistentDir ${join(o.dir, 'persist')}
agentAddress ${o.agentAddress}
rocommunity ${o.community} default
rwcommunity ${o.rwCommunity} default ${NS_CACHE_SUBTREE}
createUser ${o.v3.user} SHA "${o.v3.authKey}" AES "${o.v3.privKey}"
rouser ${o.v3.user} priv
sysName campuswatch-test
sysLocation test
sysContact test
dontLogTCPWrappersConnects yes
`;
}

function withNetns(netns: string | undefined, cmd: string, args: string[]): [string, string[]] {
  return netns ? [IP_BIN, ['netns', 'exec', netns, cmd, ...args]] : [cmd, args];
}

/** One SNMP GET of sysUpTime with the CLI (no MIBs, one attempt); true if the agent answered. */
function answers(
  s: { host: string; port: number; netns: string | undefined; community: string },
  env: NodeJS.ProcessEnv,
): Promise<boolean> {
  const [cmd, args] = withNetns(s.netns, SNMPGET_BIN, [
    '-m',
    '',
    '-v2c',
    '-c',
    s.community,
    '-r',
    '0',
    '-t',
    '0.3',
    '-On',
    `${s.host}:${s.port}`,
    SYS_UPTIME,
  ]);
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { env, stdio: 'ignore' });
    child.once('error', () => resolve(false));
    child.once('exit', (code) => resolve(code === 0));
  });
}

/**
 * Starts snmpd and resolves once it answers a v2c GET of sysUpTime. Rejects (and cleans up) when
 * snmpd exits first or does not answer within 15 s.
 */
export async function startSnmpd(opts: SnmpdOptions = {}): Promise<Snmpd> {
  installExitHook();
  const reason = snmpdAvailable({ netns: opts.netns !== undefined });
  if (reason) throw new Error(reason);
  const agentAddress = opts.agentAddress ?? `udp:127.0.0.1:${await freeUdpPort()}`;
  const { host, port } = parseAgentAddress(agentAddress);
  const community = opts.community ?? randomWord('c');
  const rwCommunity = randomWord('w');
  const v3 = opts.v3 ?? { user: randomWord('u'), authKey: randomWord('a'), privKey: randomWord('p') };
  const dir = await mkdtemp(join(tmpdir(), 'campuswatch-snmpd-'));
  dirs.add(dir);
  const persist = join(dir, 'persist');
  await mkdir(persist);
  await mkdir(join(dir, 'client'));
  const conf = join(dir, 'snmpd.conf');
  await writeFile(conf, configText({ dir, agentAddress, community, rwCommunity, v3 }), { mode: 0o600 });
  const env: NodeJS.ProcessEnv = { ...process.env, MIBS: '', SNMP_PERSISTENT_DIR: persist };
  const clientEnv: NodeJS.ProcessEnv = { ...process.env, MIBS: '', SNMP_PERSISTENT_DIR: join(dir, 'client') };

  const [cmd, args] = withNetns(opts.netns, SNMPD_BIN, [
    '-f',
    '-Lo',
    '-C',
    '-c',
    conf,
    '-p',
    join(dir, 'snmpd.pid'),
  ]);
  const startedAt = performance.now();
  const child = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  live.add(child);
  let out = '';
  const keep = (chunk: Buffer) => {
    out = (out + chunk.toString('utf8')).slice(-OUTPUT_TAIL_BYTES);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  let exited = false;
  const exit = new Promise<void>((resolve) => {
    child.once('exit', () => {
      exited = true;
      live.delete(child);
      resolve();
    });
    child.once('error', (err) => {
      keep(Buffer.from(`\nspawn failed: ${err.message}\n`));
      exited = true;
      live.delete(child);
      resolve();
    });
  });

  const stop = async () => {
    if (!exited) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
      await exit;
      clearTimeout(timer);
    }
    await rm(dir, { recursive: true, force: true });
    dirs.delete(dir);
  };

  // Ready = answers a GET. snmpd prints its version line once its transports are open; each probe
  // GET waits at most 0.3 s for the answer, so the loop is bounded by READY_TIMEOUT_MS.
  const deadline = startedAt + READY_TIMEOUT_MS;
  let ready = false;
  while (!exited && performance.now() < deadline) {
    if (await answers({ host, port, netns: opts.netns, community }, clientEnv)) {
      ready = true;
      break;
    }
  }
  if (!ready) {
    const wasExited = exited;
    await stop();
    const tail = out.trim().split('\n').slice(-15).join('\n');
    if (wasExited) throw new SnmpdExitedError(`snmpd exited before answering on ${agentAddress}:\n${tail}`);
    throw new Error(`snmpd did not answer on ${agentAddress} within ${READY_TIMEOUT_MS} ms:\n${tail}`);
  }
  const startupMs = Math.round(performance.now() - startedAt);
  if (opts.freshCounters !== false) {
    const [setCmd, setArgs] = withNetns(opts.netns, SNMPSET_BIN, [
      '-m',
      '',
      '-v2c',
      '-c',
      rwCommunity,
      '-r',
      '2',
      '-t',
      '1',
      `${host}:${port}`,
      IF_TABLE_CACHE_TIMEOUT,
      'i',
      '0',
    ]);
    const r = spawnSync(setCmd, setArgs, { env: clientEnv, encoding: 'utf8', timeout: 10_000 });
    if (r.status !== 0) {
      await stop();
      throw new Error(`could not set snmpd's ifTable cache timeout: ${(r.stderr || r.stdout).trim()}`);
    }
  }
  const pid = child.pid ?? -1;
  return {
    host,
    port,
    agentAddress,
    netns: opts.netns,
    community,
    v3,
    pid,
    dir,
    startupMs,
    output: () => out,
    stop,
  };
}

/** Runs the net-snmp CLI `snmpget` against an agent (numeric OIDs, values only); for diagnostics. */
export function snmpgetCli(s: Snmpd, oids: string[]): string {
  const [cmd, args] = withNetns(s.netns, SNMPGET_BIN, [
    '-m',
    '',
    '-v2c',
    '-c',
    s.community,
    '-On',
    '-Oqv',
    `${s.host}:${s.port}`,
    ...oids,
  ]);
  const r = spawnSync(cmd, args, {
    env: { ...process.env, MIBS: '', SNMP_PERSISTENT_DIR: join(s.dir, 'client') },
    encoding: 'utf8',
    timeout: 10_000,
  });
  return r.stdout;
}
