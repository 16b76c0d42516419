import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// The agent daemon runs with `node --lite-mode --no-expose-wasm` (deploy/systemd/campuswatch-agent.service):
// ~9 MiB less memory on the school's box (bench/agent-footprint). Two things follow: every way of starting
// the daemon uses the same flags, and nothing the agent runs may need WebAssembly (V8's lite mode has none):
// no undici and no global fetch (Node's fetch is undici, whose HTTP parser is WebAssembly).

const ROOT = join(fileURLToPath(import.meta.url), '..', '..', '..');
const read = (path: string) => readFileSync(join(ROOT, path), 'utf8');

/** The words between the node binary and cli.js in `line`. */
function flagsBefore(line: string, cli: string): string[] {
  const words = line.trim().split(/\s+/);
  const at = words.findIndex((w) => w.includes(cli));
  expect(at, `no ${cli} in: ${line}`).toBeGreaterThan(0);
  return words.slice(1, at);
}

function sources(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts'))
    .map((e) => join(e.parentPath, e.name));
}

describe('the agent daemon’s node flags', () => {
  const unitLine = /^ExecStart=(.*)$/m.exec(read('deploy/systemd/campuswatch-agent.service'))?.[1] ?? '';
  const unitFlags = flagsBefore(unitLine, '/dist/agent-bundle/cli.js');

  it('the unit starts node in lite mode, without WebAssembly (and without its warning)', () => {
    expect(unitFlags).toEqual(['--lite-mode', '--no-expose-wasm']);
    expect(unitLine).toMatch(/cli\.js run --config /);
  });

  it('scripts/start.sh and the installed campuswatch-agent start `run` with the same flags', () => {
    const start = /^agent_run=\((.*)\)$/m.exec(read('scripts/start.sh'))?.[1] ?? '';
    expect(flagsBefore(start, '/dist/agent-bundle/cli.js')).toEqual(unitFlags);
    expect(read('scripts/start.sh')).toMatch(/^"\$\{agent_run\[@\]\}" run /m);
    const wrapper = /printf 'if \[ "\$\{1-\}" = run \]; then exec %q (.*) %q "\$@"; fi\\n'/.exec(
      read('deploy/install-agent.sh'),
    );
    expect(wrapper?.[1]?.split(' ')).toEqual(unitFlags);
  });

  it('no agent source needs WebAssembly: no undici, no global fetch, no WebAssembly.*', () => {
    const offenders: string[] = [];
    for (const file of [...sources('agent/src'), ...sources('protocol')]) {
      const text = readFileSync(file, 'utf8');
      if (/from ['"]undici['"]|import\(['"]undici['"]\)/.test(text)) offenders.push(`${file}: undici`);
      if (/(^|[^.\w])fetch\(/m.test(text)) offenders.push(`${file}: fetch()`);
      if (/\bWebAssembly\./.test(text)) offenders.push(`${file}: WebAssembly`);
    }
    expect(offenders).toEqual([]);
  });
});
