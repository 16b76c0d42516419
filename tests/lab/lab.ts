/**
 * Test lab: three network namespaces joined by veth pairs, with a tbf-shaped uplink.
 *
 *   school (agent)  ──veth──  router (school border router)  ──veth──  centre (collector, iperf3 -s)
 *   10.203.<n>.2/30          10.203.<n>.1 | 10.203.<n+1>.1            10.203.<n+1>.2/30
 *   fd00:cafe:<n>::2/64      fd00:cafe:<n>::1 | fd00:cafe:<n+1>::1     fd00:cafe:<n+1>::2/64
 *
 * Only addresses inside 10.203.0.0/16, fd00:cafe::/48 and (option `globalV6`) 2001:db8::/32 are used,
 * and only inside the lab's own namespaces: nothing is routed to or from the host's network.
 *
 * Concurrency: `<n>` is an even number in 2..250 claimed through a lock file in /tmp/campuswatch-lab
 * (O_EXCL, holding the owner's pid), so labs of concurrent vitest workers never share addresses;
 * namespace names carry the owner's pid and a random id, interface names the random id.
 *
 * Cleanup: `destroy()` kills everything the lab started (and anything else still running inside its
 * namespaces) and deletes the namespaces, which removes their veths. A process that exits or is
 * interrupted (SIGINT/SIGTERM/SIGHUP) without destroying its labs deletes them synchronously; labs left
 * behind by a killed process (SIGKILL) are removed by `removeStaleLabs()`, which `createLab()` calls.
 */
import { type ChildProcess, type SpawnOptions, spawn, spawnSync } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import {
  closeSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  statSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as delay } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

/** Every lab namespace is named `cwlab-<owner pid>-<random id>[-<label>]-<role>`. */
export const LAB_PREFIX = 'cwlab-';
const NETNS_DIR = '/run/netns';
const SLOT_DIR = '/tmp/campuswatch-lab';
/** Slot k owns `<n>` = 2k and `<n+1>` = 2k+1, k in 1..125. */
const SLOT_COUNT = 125;
const IP = 'ip';
const TC = 'tc';
const LINK_UP_TIMEOUT_MS = 5_000;
const POLL_MS = 10;
const CHILD_TERM_GRACE_MS = 2_000;
/** The project root (this file is tests/lab/lab.ts): `node --import tsx` resolves tsx from here. */
export const PROJECT_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

export type LabRole = 'school' | 'router' | 'centre';
/** A role, or one of this lab's namespace names. */
export type LabNs = LabRole | (string & {});

export interface CreateLabOptions {
  /** Shape the uplink (router WAN side) to this rate in both directions with tbf. */
  uplinkMbit?: number;
  /** A label put into the namespace names (lowercased, [a-z0-9] only, at most 12 characters). */
  name?: string;
  /** Also give every veth a 2001:db8::/32 (documentation prefix) address, for global-scope IPv6. */
  globalV6?: boolean;
}

export interface ExecOptions {
  /** Kill the command (SIGKILL) after this long; the result then has `code: null`. Default 60 s. */
  timeoutMs?: number;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Written to the command's stdin, which is then closed. */
  input?: string;
  /** Throw a LabCommandError when the command does not exit with 0. */
  check?: boolean;
}

export interface ExecResult {
  stdout: string;
  stderr: string;
  code: number | null;
  signal: NodeJS.Signals | null;
}

export class LabCommandError extends Error {
  override readonly name = 'LabCommandError';
  constructor(
    readonly cmd: readonly string[],
    readonly result: ExecResult,
  ) {
    super(
      `${cmd.join(' ')} failed (${result.code === null ? `signal ${result.signal ?? 'timeout'}` : `exit ${result.code}`}): ${result.stderr.trim() || result.stdout.trim()}`,
    );
  }
}

/** tbf parameters for a rate (see `tbfParams`). */
export interface TbfParams {
  mbit: number;
  burstBytes: number;
  latencyMs: number;
}

export interface Lab {
  /** Random id shared by the namespace and interface names. */
  readonly id: string;
  readonly label: string | undefined;
  /** `<n>`: the LAN is 10.203.<n>.0/30 and fd00:cafe:<n>::/64, the WAN <n+1>. */
  readonly index: number;
  readonly ns: Readonly<Record<LabRole, string>>;
  readonly schoolV4: string;
  readonly routerLanV4: string;
  readonly routerWanV4: string;
  readonly centreV4: string;
  readonly schoolV6: string;
  readonly routerLanV6: string;
  readonly routerWanV6: string;
  readonly centreV6: string;
  /** 2001:db8:<n>::2 etc. with `globalV6: true`, otherwise undefined. */
  readonly schoolGlobalV6: string | undefined;
  readonly routerLanGlobalV6: string | undefined;
  readonly routerWanGlobalV6: string | undefined;
  readonly centreGlobalV6: string | undefined;
  /** 10.203.<n>.0/30 (school ↔ router) and 10.203.<n+1>.0/30 (router ↔ centre). */
  readonly lanV4Net: string;
  readonly wanV4Net: string;
  readonly lanV6Net: string;
  readonly wanV6Net: string;
  /** The school's veth (towards the router). */
  readonly schoolIf: string;
  /** The router's veth towards the school: its egress carries downloads. */
  readonly routerLanIf: string;
  /** The router's veth towards the centre: its egress carries uploads. */
  readonly routerWanIf: string;
  /** The centre's veth (towards the router). */
  readonly centreIf: string;
  /** Current uplink shaping, undefined when unshaped. */
  readonly uplinkMbit: number | undefined;
  readonly destroyed: boolean;
  /** The namespace name for a role (or checks that a name belongs to this lab). */
  nsName(ns: LabNs): string;
  /** `ip netns exec <ns> <cmd…>`, output collected. */
  exec(ns: LabNs, cmd: readonly string[], opts?: ExecOptions): Promise<ExecResult>;
  /** `ip netns exec <ns> <cmd…>` as a tracked child process (killed by destroy()). */
  spawn(ns: LabNs, cmd: readonly string[], opts?: SpawnOptions): ChildProcess;
  /** `ip netns exec <ns> node --import tsx <script> <args…>` (cwd defaults to the project root). */
  nodeIn(ns: LabNs, scriptPath: string, args?: readonly string[], opts?: SpawnOptions): ChildProcess;
  /** Shape both directions of the uplink to `mbit` (replaces any earlier shaping). */
  shape(mbit: number): Promise<void>;
  /** Remove the shaping. */
  unshape(): Promise<void>;
  /** Kill everything started in the lab, delete its namespaces (and so its veths), free its slot. */
  destroy(): Promise<void>;
}

// ---------------------------------------------------------------------------------------------------
// Availability

let availability: { reason: string | undefined } | undefined;

function commandRuns(cmd: string, args: string[]): boolean {
  const r = spawnSync(cmd, args, { stdio: 'ignore', timeout: 10_000 });
  return r.error === undefined && r.status === 0;
}

/** Why lab tests cannot run here, or undefined when they can (probed once per process). */
export function labAvailable(): string | undefined {
  if (availability) return availability.reason;
  availability = { reason: probeAvailability() };
  return availability.reason;
}

function probeAvailability(): string | undefined {
  if (process.platform !== 'linux') return `network namespaces need Linux (this is ${process.platform})`;
  if (process.getuid?.() !== 0) return 'network namespaces need root (run the tests as root)';
  if (!commandRuns(IP, ['-V'])) return '`ip` (iproute2) not found';
  if (!commandRuns(TC, ['-V'])) return '`tc` (iproute2) not found';
  const probe = `${LAB_PREFIX}${process.pid}-${randomBytes(3).toString('hex')}-probe`;
  const add = spawnSync(IP, ['netns', 'add', probe], { encoding: 'utf8', timeout: 10_000 });
  if (add.error !== undefined || add.status !== 0) {
    return `\`ip netns add\` fails: ${(add.stderr ?? '').trim() || add.error?.message || `exit ${add.status}`}`;
  }
  const del = spawnSync(IP, ['netns', 'del', probe], { encoding: 'utf8', timeout: 10_000 });
  if (del.status !== 0) return `\`ip netns del\` fails: ${(del.stderr ?? '').trim()}`;
  return undefined;
}

/** Why iperf3 runs cannot happen here (lab unavailable, or no iperf3), or undefined. */
export function iperf3Available(): string | undefined {
  const lab = labAvailable();
  if (lab !== undefined) return lab;
  if (!commandRuns('iperf3', ['--version'])) return '`iperf3` not found (apt-get install iperf3)';
  return undefined;
}

// ---------------------------------------------------------------------------------------------------
// Processes

function collect(child: ChildProcess, opts: ExecOptions, cmd: readonly string[]): Promise<ExecResult> {
  return new Promise((resolvePromise, reject) => {
    let stdout = '';
    let stderr = '';
    child.stdout?.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
    });
    child.stderr?.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 60_000);
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      const result: ExecResult = { stdout, stderr, code, signal };
      if (opts.check && code !== 0) reject(new LabCommandError(cmd, result));
      else resolvePromise(result);
    });
    if (opts.input !== undefined) child.stdin?.end(opts.input);
  });
}

/** Run a command on the host (used for `ip`/`tc` only). */
function run(cmd: string, args: readonly string[], opts: ExecOptions = {}): Promise<ExecResult> {
  const child = spawn(cmd, args, {
    stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    env: opts.env,
    cwd: opts.cwd,
  });
  return collect(child, opts, [cmd, ...args]);
}

function ipc(args: readonly string[], opts: ExecOptions = {}): Promise<ExecResult> {
  return run(IP, args, { check: true, timeoutMs: 15_000, ...opts });
}

function ipcTc(args: readonly string[]): Promise<ExecResult> {
  return run(TC, args, { check: true, timeoutMs: 15_000 });
}

function hasExited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

/** Resolves true when the child has exited (or failed to start), false after `ms`. */
function waitExit(child: ChildProcess, ms: number): Promise<boolean> {
  if (hasExited(child) || child.pid === undefined) return Promise.resolve(true);
  return new Promise((resolvePromise) => {
    const done = (exited: boolean): void => {
      clearTimeout(timer);
      child.off('exit', onExit);
      child.off('error', onExit);
      resolvePromise(exited);
    };
    const onExit = (): void => done(true);
    const timer = setTimeout(() => done(hasExited(child)), ms);
    child.once('exit', onExit);
    child.once('error', onExit);
  });
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

let clockTicks: number | undefined;
let bootMs: number | undefined;

/** When a process started (ms since the epoch, ±1 s), or undefined when it does not exist. */
function processStartMs(pid: number): number | undefined {
  try {
    if (clockTicks === undefined) {
      const r = spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' });
      const n = Number.parseInt(r.stdout ?? '', 10);
      clockTicks = Number.isFinite(n) && n > 0 ? n : 100;
    }
    if (bootMs === undefined) {
      const m = /^btime (\d+)$/m.exec(readFileSync('/proc/stat', 'utf8'));
      if (!m?.[1]) return undefined;
      bootMs = Number(m[1]) * 1000;
    }
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Field 22 (starttime); fields 3… follow the parenthesised command name.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[19]);
    if (!Number.isFinite(ticks)) return undefined;
    return bootMs + (ticks * 1000) / clockTicks;
  } catch {
    return undefined;
  }
}

/**
 * Is a lab namespace's owner gone? Owner = the pid in its name; gone when no such process exists, or
 * when the process with that pid started after the namespace was created (the pid was reused).
 */
function ownerGone(pid: number, createdMs: number | undefined): boolean {
  if (pid === process.pid) return false;
  if (!pidAlive(pid)) return true;
  const started = processStartMs(pid);
  if (started === undefined || createdMs === undefined) return false;
  return started > createdMs + 2_000;
}

// ---------------------------------------------------------------------------------------------------
// Slots (the <n> of the addresses)

function slotFile(slot: number): string {
  return join(SLOT_DIR, `slot-${slot}`);
}

function acquireSlot(): number {
  mkdirSync(SLOT_DIR, { recursive: true });
  const order = Array.from({ length: SLOT_COUNT }, (_, i) => i + 1);
  // Random order, so that concurrent workers rarely contend for the same file.
  for (let i = order.length - 1; i > 0; i--) {
    const j = randomInt(i + 1);
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  for (const slot of order) {
    let fd: number;
    try {
      fd = openSync(slotFile(slot), 'wx');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') continue;
      throw err;
    }
    try {
      writeSync(fd, `${process.pid}\n`);
    } finally {
      closeSync(fd);
    }
    return slot;
  }
  throw new Error(`no free lab slot in ${SLOT_DIR} (${SLOT_COUNT} labs exist; run removeStaleLabs())`);
}

function releaseSlot(slot: number): void {
  try {
    unlinkSync(slotFile(slot));
  } catch {
    // already gone
  }
}

// ---------------------------------------------------------------------------------------------------
// Stale labs

function listLabNamespaces(): string[] {
  try {
    return readdirSync(NETNS_DIR).filter((n) => n.startsWith(LAB_PREFIX));
  } catch {
    return [];
  }
}

function nsPidsSync(ns: string): number[] {
  const r = spawnSync(IP, ['netns', 'pids', ns], { encoding: 'utf8', timeout: 10_000 });
  return (r.stdout ?? '')
    .split(/\s+/)
    .filter((s) => /^\d+$/.test(s))
    .map(Number);
}

function killNamespaceSync(ns: string): void {
  for (const pid of nsPidsSync(ns)) {
    if (pid === process.pid) continue;
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone already
    }
  }
  spawnSync(IP, ['netns', 'del', ns], { stdio: 'ignore', timeout: 10_000 });
}

/**
 * Delete lab namespaces (and slot locks) whose owning process no longer exists, e.g. left by a run that
 * was SIGKILLed. Labs of other live processes (parallel vitest workers) are left alone.
 * Returns the names of the namespaces removed.
 */
export function removeStaleLabs(): string[] {
  const removed: string[] = [];
  for (const ns of listLabNamespaces()) {
    const pid = Number(ns.slice(LAB_PREFIX.length).split('-')[0]);
    if (!Number.isInteger(pid) || pid <= 0) continue;
    let createdMs: number | undefined;
    try {
      createdMs = statSync(join(NETNS_DIR, ns)).mtimeMs;
    } catch {
      continue;
    }
    if (!ownerGone(pid, createdMs)) continue;
    killNamespaceSync(ns);
    removed.push(ns);
  }
  let slots: string[] = [];
  try {
    slots = readdirSync(SLOT_DIR).filter((f) => /^slot-\d+$/.test(f));
  } catch {
    // no slot directory yet
  }
  for (const f of slots) {
    const file = join(SLOT_DIR, f);
    try {
      const pid = Number.parseInt(readFileSync(file, 'utf8'), 10);
      if (Number.isInteger(pid) && pid > 0 && !ownerGone(pid, statSync(file).mtimeMs)) continue;
      // Rename first: of several processes cleaning up at once, exactly one removes the file.
      const gone = `${file}.gone-${process.pid}`;
      renameSync(file, gone);
      unlinkSync(gone);
    } catch {
      // another process got there first
    }
  }
  return removed;
}

// ---------------------------------------------------------------------------------------------------
// Process-wide cleanup of live labs

interface LiveLab {
  destroySync(): void;
}

const liveLabs = new Set<LiveLab>();
const SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
let hooksInstalled = false;

function cleanupAllSync(): void {
  for (const lab of [...liveLabs]) lab.destroySync();
}

function onSignal(signal: NodeJS.Signals): void {
  // Counted before the cleanup, which removes this listener once no lab is left.
  const alone = process.listenerCount(signal) === 1;
  cleanupAllSync();
  // When nobody else handles the signal, restore its default action (terminate) and re-raise it.
  if (alone) {
    removeHooks();
    process.kill(process.pid, signal);
  }
}

function installHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  process.on('exit', cleanupAllSync);
  for (const s of SIGNALS) process.on(s, onSignal);
}

function removeHooks(): void {
  if (!hooksInstalled) return;
  hooksInstalled = false;
  process.off('exit', cleanupAllSync);
  for (const s of SIGNALS) process.off(s, onSignal);
}

// ---------------------------------------------------------------------------------------------------
// Shaping

/**
 * tbf parameters for `mbit`:
 * - burst = max(64 KiB, rate × 4 ms). At least one 64 KiB GSO super-packet, so that tbf does not
 *   have to split TSO/GSO packets from the veth; and 4 ms of tokens (rate/HZ with HZ=250), so that a
 *   late dequeue on a busy 2-core machine does not waste tokens and push goodput under the rate.
 * - latency = 20 ms: the queue holds 20 ms at the rate (like a modest router buffer): plenty for a
 *   sub-millisecond veth RTT, without hiding bufferbloat behind a huge queue.
 * With these, iperf3 TCP goodput is ≈ 0.955–0.957 × rate (IP+TCP headers with timestamps and the
 * Ethernet framing tbf counts: 1448 / 1514 ≈ 0.956).
 */
export function tbfParams(mbit: number): TbfParams {
  if (!(Number.isFinite(mbit) && mbit > 0)) throw new RangeError(`uplink rate must be > 0 Mbit: ${mbit}`);
  const bytesPerSecond = (mbit * 1e6) / 8;
  return { mbit, burstBytes: Math.max(65_536, Math.ceil(bytesPerSecond * 0.004)), latencyMs: 20 };
}

// ---------------------------------------------------------------------------------------------------
// Lab

function isRole(ns: string): ns is LabRole {
  return ns === 'school' || ns === 'router' || ns === 'centre';
}

function sanitizeLabel(name: string | undefined): string | undefined {
  if (name === undefined) return undefined;
  const s = name
    .toLowerCase()
    .replace(/[^a-z0-9]/g, '')
    .slice(0, 12);
  return s === '' ? undefined : s;
}

interface IpLink {
  ifname?: string;
  operstate?: string;
}

interface IpAddrInfo {
  local?: string;
  tentative?: boolean;
  dadfailed?: boolean;
}

interface IpAddr {
  ifname?: string;
  addr_info?: IpAddrInfo[];
}

function parseJsonArray<T>(text: string): T[] {
  const v: unknown = JSON.parse(text || '[]');
  return Array.isArray(v) ? (v as T[]) : [];
}

class LabImpl implements Lab, LiveLab {
  readonly ns: Readonly<Record<LabRole, string>>;
  readonly schoolV4: string;
  readonly routerLanV4: string;
  readonly routerWanV4: string;
  readonly centreV4: string;
  readonly schoolV6: string;
  readonly routerLanV6: string;
  readonly routerWanV6: string;
  readonly centreV6: string;
  readonly schoolGlobalV6: string | undefined;
  readonly routerLanGlobalV6: string | undefined;
  readonly routerWanGlobalV6: string | undefined;
  readonly centreGlobalV6: string | undefined;
  readonly lanV4Net: string;
  readonly wanV4Net: string;
  readonly lanV6Net: string;
  readonly wanV6Net: string;
  readonly schoolIf: string;
  readonly routerLanIf: string;
  readonly routerWanIf: string;
  readonly centreIf: string;
  readonly index: number;
  private shapedMbit: number | undefined;
  private isDestroyed = false;
  private destroying: Promise<void> | undefined;
  private readonly children = new Set<ChildProcess>();
  /** Namespaces actually created so far (for cleanup of a half-built lab). */
  private readonly created = new Set<string>();

  constructor(
    readonly id: string,
    readonly label: string | undefined,
    private readonly slot: number,
    globalV6: boolean,
  ) {
    const base = `${LAB_PREFIX}${process.pid}-${id}${label ? `-${label}` : ''}`;
    this.ns = { school: `${base}-school`, router: `${base}-router`, centre: `${base}-centre` };
    const n = slot * 2;
    const w = n + 1;
    this.index = n;
    this.lanV4Net = `10.203.${n}.0/30`;
    this.wanV4Net = `10.203.${w}.0/30`;
    this.lanV6Net = `fd00:cafe:${n}::/64`;
    this.wanV6Net = `fd00:cafe:${w}::/64`;
    this.routerLanV4 = `10.203.${n}.1`;
    this.schoolV4 = `10.203.${n}.2`;
    this.routerWanV4 = `10.203.${w}.1`;
    this.centreV4 = `10.203.${w}.2`;
    this.routerLanV6 = `fd00:cafe:${n}::1`;
    this.schoolV6 = `fd00:cafe:${n}::2`;
    this.routerWanV6 = `fd00:cafe:${w}::1`;
    this.centreV6 = `fd00:cafe:${w}::2`;
    this.routerLanGlobalV6 = globalV6 ? `2001:db8:${n}::1` : undefined;
    this.schoolGlobalV6 = globalV6 ? `2001:db8:${n}::2` : undefined;
    this.routerWanGlobalV6 = globalV6 ? `2001:db8:${w}::1` : undefined;
    this.centreGlobalV6 = globalV6 ? `2001:db8:${w}::2` : undefined;
    // At most 2 + 6 + 3 = 11 characters (IFNAMSIZ allows 15).
    this.schoolIf = `cw${id}-s`;
    this.routerLanIf = `cw${id}-rl`;
    this.routerWanIf = `cw${id}-rw`;
    this.centreIf = `cw${id}-c`;
  }

  get uplinkMbit(): number | undefined {
    return this.shapedMbit;
  }

  get destroyed(): boolean {
    return this.isDestroyed;
  }

  nsName(ns: LabNs): string {
    if (isRole(ns)) return this.ns[ns];
    if (ns === this.ns.school || ns === this.ns.router || ns === this.ns.centre) return ns;
    throw new Error(`${ns} is not a namespace of lab ${this.id}`);
  }

  private assertLive(): void {
    if (this.isDestroyed || this.destroying) throw new Error(`lab ${this.id} has been destroyed`);
  }

  spawn(ns: LabNs, cmd: readonly string[], opts: SpawnOptions = {}): ChildProcess {
    this.assertLive();
    if (cmd.length === 0) throw new Error('empty command');
    const child = spawn(IP, ['netns', 'exec', this.nsName(ns), ...cmd], opts);
    this.children.add(child);
    const forget = (): void => {
      this.children.delete(child);
    };
    child.once('exit', forget);
    child.once('error', forget);
    return child;
  }

  exec(ns: LabNs, cmd: readonly string[], opts: ExecOptions = {}): Promise<ExecResult> {
    const child = this.spawn(ns, cmd, {
      stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
      env: opts.env,
      cwd: opts.cwd,
    });
    return collect(child, opts, [`[${this.nsName(ns)}]`, ...cmd]);
  }

  nodeIn(ns: LabNs, scriptPath: string, args: readonly string[] = [], opts: SpawnOptions = {}): ChildProcess {
    return this.spawn(ns, [process.execPath, '--import', 'tsx', scriptPath, ...args], {
      cwd: PROJECT_ROOT,
      ...opts,
    });
  }

  async shape(mbit: number): Promise<void> {
    this.assertLive();
    const p = tbfParams(mbit);
    const tbf = [
      'tbf',
      'rate',
      `${p.mbit}mbit`,
      'burst',
      String(p.burstBytes),
      'latency',
      `${p.latencyMs}ms`,
    ];
    // Upload leaves the router through its WAN veth, download through its LAN veth.
    await Promise.all(
      [this.routerWanIf, this.routerLanIf].map((dev) =>
        ipcTc(['-n', this.ns.router, 'qdisc', 'replace', 'dev', dev, 'root', ...tbf]),
      ),
    );
    this.shapedMbit = mbit;
  }

  async unshape(): Promise<void> {
    this.assertLive();
    await Promise.all(
      [this.routerWanIf, this.routerLanIf].map((dev) =>
        // Fails harmlessly when no root qdisc is set.
        run(TC, ['-n', this.ns.router, 'qdisc', 'del', 'dev', dev, 'root']),
      ),
    );
    this.shapedMbit = undefined;
  }

  /** Build the namespaces, veths, addresses and routes; wait until the links are up. */
  async build(opts: CreateLabOptions): Promise<void> {
    const { school, router, centre } = this.ns;
    for (const ns of [school, router, centre]) {
      await ipc(['netns', 'add', ns]);
      this.created.add(ns);
    }
    // Before the veths exist, so that they inherit accept_dad=0 (no DAD: addresses usable at once).
    const noDad = ['net.ipv6.conf.all.accept_dad=0', 'net.ipv6.conf.default.accept_dad=0'];
    const forwarding = ['net.ipv4.ip_forward=1', 'net.ipv6.conf.all.forwarding=1'];
    await Promise.all([
      ipc(['netns', 'exec', school, 'sysctl', '-qw', ...noDad]),
      ipc(['netns', 'exec', centre, 'sysctl', '-qw', ...noDad]),
      ipc(['netns', 'exec', router, 'sysctl', '-qw', ...noDad, ...forwarding]),
    ]);
    // Each end of a pair is created directly inside its namespace.
    const veth = (a: string, nsA: string, b: string, nsB: string): string[] => [
      'link',
      'add',
      a,
      'netns',
      nsA,
      'type',
      'veth',
      'peer',
      'name',
      b,
      'netns',
      nsB,
    ];
    await ipc(veth(this.schoolIf, school, this.routerLanIf, router));
    await ipc(veth(this.centreIf, centre, this.routerWanIf, router));

    const v6 = (a: string | undefined): string[] => (a === undefined ? [] : [`${a}/64`]);
    const addrs: [ns: string, dev: string, cidrs: string[]][] = [
      [school, this.schoolIf, [`${this.schoolV4}/30`, ...v6(this.schoolV6), ...v6(this.schoolGlobalV6)]],
      [
        router,
        this.routerLanIf,
        [`${this.routerLanV4}/30`, ...v6(this.routerLanV6), ...v6(this.routerLanGlobalV6)],
      ],
      [
        router,
        this.routerWanIf,
        [`${this.routerWanV4}/30`, ...v6(this.routerWanV6), ...v6(this.routerWanGlobalV6)],
      ],
      [centre, this.centreIf, [`${this.centreV4}/30`, ...v6(this.centreV6), ...v6(this.centreGlobalV6)]],
    ];
    // Links up first: the kernel's linkwatch may take up to a second to activate a veth's qdisc (and
    // report operstate UP), which then overlaps with the address configuration.
    await Promise.all([
      ...addrs.map(([ns, dev]) => ipc(['-n', ns, 'link', 'set', dev, 'up'])),
      ...[school, router, centre].map((ns) => ipc(['-n', ns, 'link', 'set', 'lo', 'up'])),
    ]);
    await Promise.all(
      addrs.map(async ([ns, dev, list]) => {
        for (const a of list) {
          await ipc(['-n', ns, 'addr', 'add', a, 'dev', dev, ...(a.includes(':') ? ['nodad'] : [])]);
        }
      }),
    );
    await this.waitReady();

    await Promise.all([
      ipc(['-n', school, 'route', 'add', 'default', 'via', this.routerLanV4]),
      ipc(['-n', school, '-6', 'route', 'add', 'default', 'via', this.routerLanV6]),
      ipc(['-n', centre, 'route', 'add', 'default', 'via', this.routerWanV4]),
      ipc(['-n', centre, '-6', 'route', 'add', 'default', 'via', this.routerWanV6]),
    ]);
    if (opts.uplinkMbit !== undefined) await this.shape(opts.uplinkMbit);
  }

  /** Poll (bounded) until every veth is operationally UP and no address is tentative. */
  private async waitReady(): Promise<void> {
    const want: [string, string][] = [
      [this.ns.school, this.schoolIf],
      [this.ns.router, this.routerLanIf],
      [this.ns.router, this.routerWanIf],
      [this.ns.centre, this.centreIf],
    ];
    const deadline = Date.now() + LINK_UP_TIMEOUT_MS;
    let pending: string[] = [];
    for (;;) {
      pending = [];
      for (const ns of [this.ns.school, this.ns.router, this.ns.centre]) {
        const [links, addrs] = await Promise.all([
          ipc(['-n', ns, '-j', 'link', 'show']),
          ipc(['-n', ns, '-j', 'addr', 'show']),
        ]);
        const linkList = parseJsonArray<IpLink>(links.stdout);
        const addrList = parseJsonArray<IpAddr>(addrs.stdout);
        for (const [wantNs, dev] of want) {
          if (wantNs !== ns) continue;
          const link = linkList.find((l) => l.ifname === dev);
          if (link?.operstate !== 'UP') pending.push(`${dev} is ${link?.operstate ?? 'missing'}`);
          const info = addrList.find((a) => a.ifname === dev)?.addr_info ?? [];
          for (const a of info) {
            if (a.dadfailed) throw new Error(`${dev}: DAD failed for ${a.local}`);
            if (a.tentative) pending.push(`${dev}: ${a.local} tentative`);
          }
        }
      }
      if (pending.length === 0) return;
      if (Date.now() > deadline) {
        throw new Error(
          `lab ${this.id}: links not ready after ${LINK_UP_TIMEOUT_MS} ms: ${pending.join('; ')}`,
        );
      }
      await delay(POLL_MS);
    }
  }

  destroy(): Promise<void> {
    this.destroying ??= this.destroyAsync();
    return this.destroying;
  }

  private async destroyAsync(): Promise<void> {
    if (this.isDestroyed) return;
    const children = [...this.children].filter((c) => !hasExited(c) && c.pid !== undefined);
    for (const c of children) c.kill('SIGTERM');
    await Promise.all(
      children.map(async (c) => {
        if (!(await waitExit(c, CHILD_TERM_GRACE_MS))) {
          c.kill('SIGKILL');
          await waitExit(c, CHILD_TERM_GRACE_MS);
        }
      }),
    );
    const namespaces = [...this.created];
    // Anything else still running inside (e.g. grandchildren of what we spawned) goes too.
    await Promise.all(
      namespaces.map(async (ns) => {
        const r = await run(IP, ['netns', 'pids', ns]);
        for (const pid of r.stdout.split(/\s+/).filter((s) => /^\d+$/.test(s))) {
          if (Number(pid) === process.pid) continue;
          try {
            process.kill(Number(pid), 'SIGKILL');
          } catch {
            // already gone
          }
        }
      }),
    );
    const failures: string[] = [];
    await Promise.all(
      namespaces.map(async (ns) => {
        const r = await run(IP, ['netns', 'del', ns]);
        if (r.code === 0 || !listLabNamespaces().includes(ns)) this.created.delete(ns);
        else failures.push(`${ns}: ${r.stderr.trim()}`);
      }),
    );
    this.finish();
    if (failures.length > 0) throw new Error(`lab ${this.id}: could not delete ${failures.join('; ')}`);
  }

  /** Synchronous teardown for process exit / signals. */
  destroySync(): void {
    if (this.isDestroyed) return;
    for (const c of this.children) {
      if (!hasExited(c)) c.kill('SIGKILL');
    }
    for (const ns of this.created) killNamespaceSync(ns);
    this.created.clear();
    this.finish();
  }

  private finish(): void {
    this.isDestroyed = true;
    this.children.clear();
    releaseSlot(this.slot);
    liveLabs.delete(this);
    if (liveLabs.size === 0) removeHooks();
  }
}

/**
 * Build a lab: namespaces `school`, `router`, `centre`, veths, addresses, default routes, forwarding,
 * optionally a shaped uplink. Removes stale labs first. Call `destroy()` when done (in afterAll /
 * finally); labs still alive when the process exits or is interrupted are deleted then.
 */
export async function createLab(opts: CreateLabOptions = {}): Promise<Lab> {
  const reason = labAvailable();
  if (reason !== undefined) throw new Error(`lab unavailable: ${reason}`);
  if (opts.uplinkMbit !== undefined) tbfParams(opts.uplinkMbit); // validate before building anything
  removeStaleLabs();
  installHooks();
  const slot = acquireSlot();
  const taken = new Set(listLabNamespaces().map((n) => n.split('-')[2]));
  let id = randomBytes(3).toString('hex');
  while (taken.has(id)) id = randomBytes(3).toString('hex');
  const lab = new LabImpl(id, sanitizeLabel(opts.name), slot, opts.globalV6 === true);
  liveLabs.add(lab);
  try {
    await lab.build(opts);
  } catch (err) {
    await lab.destroy().catch(() => lab.destroySync());
    throw err;
  }
  return lab;
}

// ---------------------------------------------------------------------------------------------------
// Measurements

export interface Iperf3Options {
  /** up: school → centre (the uplink's upload); down: centre → school (`-R`). */
  direction: 'up' | 'down';
  /** `-t`, default 3. */
  seconds?: number;
  /** `-P`, default 1. */
  streams?: number;
  /** `-O`: seconds at the start left out of the result, default 1. */
  omit?: number;
  /** Address family to test over, default 4. */
  family?: 4 | 6;
}

export interface Iperf3Result {
  /** `end.sum_received.bits_per_second` / 1e6 of the client's report. */
  mbps: number;
  /** `end.sum_sent.retransmits` (TCP retransmissions of the sender), when reported. */
  retransmits: number | undefined;
  /** The client's `-J` report. */
  json: unknown;
  /** The one-off server's `-J` report. */
  serverJson: unknown;
}

function pick(value: unknown, ...path: string[]): unknown {
  let v = value;
  for (const key of path) {
    if (typeof v !== 'object' || v === null) return undefined;
    v = (v as Record<string, unknown>)[key];
  }
  return v;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

async function listeningTcpPorts(lab: Lab, ns: LabNs): Promise<Set<number>> {
  const r = await lab.exec(ns, ['ss', '-Htln'], { timeoutMs: 10_000 });
  const ports = new Set<number>();
  for (const line of r.stdout.split('\n')) {
    const local = line.trim().split(/\s+/)[3];
    const m = local === undefined ? null : /:(\d+)$/.exec(local);
    if (m?.[1]) ports.add(Number(m[1]));
  }
  return ports;
}

/**
 * iperf3 between school (client) and centre (one-off server `iperf3 -s -1 -J`, bound to the centre
 * address on a free port). Throws when iperf3 reports an error.
 */
export async function iperf3(lab: Lab, opts: Iperf3Options): Promise<Iperf3Result> {
  const seconds = opts.seconds ?? 3;
  const streams = opts.streams ?? 1;
  const omit = opts.omit ?? 1;
  const addr = opts.family === 6 ? lab.centreV6 : lab.centreV4;
  const used = await listeningTcpPorts(lab, 'centre');
  let port = randomInt(20_000, 60_000);
  while (used.has(port)) port = randomInt(20_000, 60_000);

  const server = lab.spawn('centre', ['iperf3', '-s', '-1', '-J', '-B', addr, '-p', String(port)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const serverDone = collect(server, { timeoutMs: (seconds + omit) * 1000 + 30_000 }, ['iperf3', '-s']);
  // Awaited on success only; a failure is reported from the client side.
  serverDone.catch(() => undefined);
  try {
    // iperf3 -J prints nothing until the end: poll (bounded) until the port listens.
    const deadline = Date.now() + 5_000;
    while (!(await listeningTcpPorts(lab, 'centre')).has(port)) {
      if (hasExited(server)) {
        const r = await serverDone;
        throw new Error(`iperf3 server exited early (${r.code}): ${r.stdout.trim() || r.stderr.trim()}`);
      }
      if (Date.now() > deadline) throw new Error(`iperf3 server not listening on ${addr} port ${port}`);
      await delay(POLL_MS);
    }
    const args = ['iperf3', '-c', addr, '-p', String(port), '-J', '-t', String(seconds)];
    args.push('-P', String(streams), '-O', String(omit));
    if (opts.direction === 'down') args.push('-R');
    const client = await lab.exec('school', args, { timeoutMs: (seconds + omit) * 1000 + 20_000 });
    const json = parseJson(client.stdout);
    const error = pick(json, 'error');
    if (typeof error === 'string') throw new Error(`iperf3: ${error}`);
    const bps = pick(json, 'end', 'sum_received', 'bits_per_second');
    if (client.code !== 0 || typeof bps !== 'number') {
      throw new Error(
        `iperf3 client failed (${client.code}): ${client.stderr.trim() || client.stdout.slice(0, 500)}`,
      );
    }
    const retr = pick(json, 'end', 'sum_sent', 'retransmits');
    const srv = await serverDone;
    return {
      mbps: bps / 1e6,
      retransmits: typeof retr === 'number' ? retr : undefined,
      json,
      serverJson: parseJson(srv.stdout),
    };
  } finally {
    if (!hasExited(server)) {
      server.kill('SIGKILL');
      await waitExit(server, CHILD_TERM_GRACE_MS);
    }
  }
}

/**
 * Average RTT in ms of `count` pings (`ping -n -c <count> -W 1`) from a lab namespace to an address,
 * or undefined when none was answered.
 */
export async function pingRtt(lab: Lab, from: LabNs, to: string, count = 1): Promise<number | undefined> {
  const args = ['ping', '-n', '-q', '-c', String(count), '-W', '1'];
  if (count > 1) args.push('-i', '0.2');
  const r = await lab.exec(from, [...args, to], { timeoutMs: count * 1000 + 5_000 });
  const m = /= [\d.]+\/([\d.]+)\/[\d.]+\/[\d.]+ ms/.exec(r.stdout);
  return r.code === 0 && m?.[1] ? Number(m[1]) : undefined;
}

/** Names of all lab namespaces present now (of any process). */
export function labNamespaces(): string[] {
  return listLabNamespaces();
}

/** The first stdout line of a child (a server announcing its address or ports), parsed as JSON. */
export function firstJsonLine<T>(child: ChildProcess): Promise<T> {
  return new Promise((resolve, reject) => {
    let err = '';
    child.stderr?.on('data', (d: Buffer) => {
      err += d.toString();
    });
    createInterface({ input: child.stdout! }).once('line', (line) => resolve(JSON.parse(line) as T));
    child.once('exit', (code) => reject(new Error(`exited ${code} before printing: ${err}`)));
  });
}
