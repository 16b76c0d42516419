import { accessSync, constants, readFileSync, type Stats, statSync } from 'node:fs';
import { userInfo } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { UsageError } from '../../protocol/cli.js';

/**
 * The agent's state directory (token, identity, spool) must be readable and writable by the user the
 * agent runs as. When it is not, every command says so — the path, the user, and the fix — instead of
 * "not enrolled" (which would have the officer spend an enrolment code on a permissions problem) or
 * SQLite's "unable to open database file". A usage error: exit 2, and systemd does not restart the
 * unit in a loop on it (RestartPreventExitStatus=2).
 */
export class StateDirError extends UsageError {}

/** The unit's StateDirectory= (deploy/systemd/campuswatch-agent.service). */
const UNIT_STATE_DIRECTORY = 'campuswatch-agent';

/** The files the agent keeps in its state directory. */
const STATE_FILES = ['token', 'identity.json', 'spool.sqlite', 'spool.sqlite-wal', 'spool.sqlite-shm'];

function userNames(): Map<number, string> {
  const names = new Map<number, string>();
  try {
    for (const line of readFileSync('/etc/passwd', 'utf8').split('\n')) {
      const [name, , uid] = line.split(':');
      if (name && uid && /^\d+$/.test(uid) && !names.has(Number(uid))) names.set(Number(uid), name);
    }
  } catch {
    // no passwd file: numbers only
  }
  return names;
}

interface Who {
  uid: number;
  name: string | undefined;
  /** `user nobody (uid 65534)` */
  text: string;
}

function currentUser(names: Map<number, string>): Who {
  const uid = process.getuid?.() ?? -1;
  let name = names.get(uid);
  if (name === undefined) {
    try {
      name = userInfo().username;
    } catch {
      // a uid without a name (a container's arbitrary user)
    }
  }
  return { uid, name, text: name === undefined ? `uid ${uid}` : `user ${name} (uid ${uid})` };
}

/** `user nobody (uid 65534)`: who this process runs as. */
export function currentUserText(): string {
  return currentUser(userNames()).text;
}

const errCode = (err: unknown) => (err as NodeJS.ErrnoException).code ?? 'error';

function ownership(st: Stats, names: Map<number, string>): string {
  return `owned by ${names.get(st.uid) ?? `uid ${st.uid}`}, mode 0${(st.mode & 0o777).toString(8).padStart(3, '0')}`;
}

/** The fix for a directory (or a file in it) this user may not use, by who owns it. */
function fix(dir: string, st: Stats, me: Who, names: Map<number, string>): string {
  const chownTo = me.name ?? String(me.uid);
  const systemd = `or, under systemd, StateDirectory=${UNIT_STATE_DIRECTORY} in the unit (it creates the directory and gives it to the unit's User=)`;
  if (st.uid === me.uid) return `fix: chmod -R u+rwX ${dir}`;
  const owner = names.get(st.uid);
  if (st.uid !== 0 && owner !== undefined) {
    return `it belongs to ${owner}: run this command as that user (sudo -u ${owner} campuswatch-agent …), or, if ${chownTo} is the service's user, sudo chown -R ${chownTo}: ${dir} && sudo chmod 0700 ${dir}`;
  }
  return `fix: sudo chown -R ${chownTo}: ${dir} && sudo chmod 0700 ${dir}, ${systemd}`;
}

function readOnly(dir: string, me: Who): string {
  return `state directory ${dir} is on a read-only file system: ${me.text} cannot write its token and spool there; fix: mount it read-write, or, under systemd with ProtectSystem=strict, give the unit StateDirectory=${UNIT_STATE_DIRECTORY} (or ReadWritePaths=${dir})`;
}

/** The first directory on the way to `path` that this user may not enter (x bit). */
function blockingAncestor(path: string): string | undefined {
  const parts = resolve(path).split('/').filter(Boolean);
  let at = '/';
  for (const p of parts) {
    try {
      accessSync(at, constants.X_OK);
    } catch {
      return at;
    }
    at = join(at, p);
  }
  return undefined;
}

export type StateDirCheck = { ok: true; exists: boolean } | { ok: false; message: string };

/**
 * Can the current user read and write the state directory and every state file in it? A directory that
 * does not exist yet is fine when the user can create it (enroll does).
 */
export function checkStateDir(dir: string): StateDirCheck {
  const names = userNames();
  const me = currentUser(names);
  let st: Stats;
  try {
    st = statSync(dir);
  } catch (err) {
    const code = errCode(err);
    if (code === 'EACCES') {
      const at = blockingAncestor(dir) ?? dirname(resolve(dir));
      let owner = '';
      try {
        owner = ` (${ownership(statSync(at), names)})`;
      } catch {
        // unreadable too: said without
      }
      return {
        ok: false,
        message: `state directory ${dir}: ${me.text} cannot reach it: ${at} does not let it in${owner}; fix: sudo chmod o+x ${at}, or move the state directory (state: in agent.yaml)`,
      };
    }
    if (code !== 'ENOENT') return { ok: false, message: `state directory ${dir}: cannot read it (${code})` };
    // it will be created (enroll): the nearest existing ancestor must let this user write
    let parent = dirname(resolve(dir));
    while (parent !== '/') {
      try {
        statSync(parent);
        break;
      } catch {
        parent = dirname(parent);
      }
    }
    try {
      accessSync(parent, constants.W_OK | constants.X_OK);
      return { ok: true, exists: false };
    } catch (e) {
      if (errCode(e) === 'EROFS') return { ok: false, message: readOnly(dir, me) };
      const owner = ownership(statSync(parent), names);
      const chownTo = me.name ?? String(me.uid);
      return {
        ok: false,
        message: `state directory ${dir} does not exist and ${me.text} cannot create it in ${parent} (${owner}); fix: sudo mkdir -p ${dir} && sudo chown ${chownTo}: ${dir} && sudo chmod 0700 ${dir}, or, under systemd, StateDirectory=${UNIT_STATE_DIRECTORY} in the unit`,
      };
    }
  }
  if (!st.isDirectory()) return { ok: false, message: `state directory ${dir} is not a directory` };
  try {
    accessSync(dir, constants.R_OK | constants.W_OK | constants.X_OK);
  } catch (err) {
    if (errCode(err) === 'EROFS') return { ok: false, message: readOnly(dir, me) };
    return {
      ok: false,
      message: `state directory ${dir}: ${me.text} cannot read and write it (${ownership(st, names)}); ${fix(dir, st, me, names)}`,
    };
  }
  for (const name of STATE_FILES) {
    const file = join(dir, name);
    let fst: Stats;
    try {
      fst = statSync(file);
    } catch {
      continue; // not there (yet)
    }
    try {
      accessSync(file, constants.R_OK | constants.W_OK);
    } catch (err) {
      if (errCode(err) === 'EROFS') return { ok: false, message: readOnly(dir, me) };
      return {
        ok: false,
        message: `state directory ${dir}: ${me.text} cannot read and write ${file} (${ownership(fst, names)}); ${fix(dir, fst, me, names)}`,
      };
    }
  }
  return { ok: true, exists: true };
}

/** Throws a StateDirError (exit 2) naming the path, the user and the fix when the state directory is unusable. */
export function assertStateDir(dir: string): { exists: boolean } {
  const r = checkStateDir(dir);
  if (!r.ok) throw new StateDirError(r.message);
  return { exists: r.exists };
}
