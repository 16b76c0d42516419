import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { programArgs } from './cli.js';
import { WORLD_ADMIN_TOKEN } from './world.js';

const ROOT = join(fileURLToPath(import.meta.url), '..', '..', '..');
const SETPRIV = '/usr/bin/setpriv';

/** A collector process (`collector/src/cli.ts run --config FILE`), in its own process group, dying with this process. */
export class CollectorProc {
  readonly child: ChildProcess;
  readonly url: Promise<string>;
  readonly exited: Promise<void>;
  private stderr = '';
  /** Every line it printed on stdout (its JSON log lines among them). */
  readonly lines: string[] = [];
  private waiters: { re: RegExp; resolve: (line: string) => void }[] = [];

  constructor(
    readonly name: string,
    configFile: string,
  ) {
    const args = [process.execPath, ...programArgs('collector'), 'run', '--config', configFile];
    const [cmd, ...rest] = existsSync(SETPRIV) ? [SETPRIV, '--pdeathsig', 'KILL', '--', ...args] : args;
    this.child = spawn(cmd!, rest, { cwd: ROOT, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    this.child.stderr!.setEncoding('utf8');
    this.child.stderr!.on('data', (c: string) => {
      this.stderr = (this.stderr + c).slice(-8000);
    });
    this.exited = new Promise((resolve) => this.child.once('close', () => resolve()));
    this.url = new Promise((resolve, reject) => {
      createInterface({ input: this.child.stdout! }).on('line', (line) => {
        const m = /collector listening on (http:\/\/\S+?) /.exec(line);
        if (m) resolve(m[1]!);
        this.lines.push(line);
        for (const w of [...this.waiters]) if (w.re.test(line)) w.resolve(line);
      });
      void this.exited.then(() => reject(new Error(`collector ${name} exited: ${this.stderr}`)));
    });
  }

  /** The first line of its stdout matching `re`, printed already or to come; rejects when it exits first. */
  line(re: RegExp): Promise<string> {
    const seen = this.lines.find((l) => re.test(l));
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const w = {
        re,
        resolve: (line: string) => {
          this.waiters = this.waiters.filter((x) => x !== w);
          resolve(line);
        },
      };
      this.waiters.push(w);
      void this.exited.then(() =>
        reject(new Error(`collector ${this.name} exited before printing ${re}: ${this.stderr}`)),
      );
    });
  }

  async kill(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null && this.child.pid !== undefined) {
      try {
        process.kill(-this.child.pid, 'SIGKILL');
      } catch {
        // gone already
      }
    }
    await this.exited;
  }

  /** The value of a gauge in its /metrics (read with the test admin token), undefined while it has none. */
  async gauge(name: string): Promise<number | undefined> {
    const text = await (
      await fetch(`${await this.url}/metrics`, { headers: { authorization: `Bearer ${WORLD_ADMIN_TOKEN}` } })
    ).text();
    const m = new RegExp(`^${name} (\\S+)$`, 'm').exec(text);
    return m ? Number(m[1]) : undefined;
  }
}
