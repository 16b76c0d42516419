// Bundles the built agent (dist/agent/src/cli.js) into dist/agent-bundle/: one file plus a chunk per lazily
// loaded probe. An agent started from ~700 small ESM files of its libraries (TypeBox alone is ~700) pays
// Node's per-module overhead in memory; the bundle keeps the school box's agent ~15 MiB smaller
// (bench/agent-footprint). better-sqlite3 stays external (a native addon, resolved from node_modules).
import { rmSync } from 'node:fs';
import { build } from 'esbuild';

const outdir = 'dist/agent-bundle';
rmSync(outdir, { recursive: true, force: true });
await build({
  entryPoints: { cli: 'dist/agent/src/cli.js' },
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  outdir,
  chunkNames: 'chunks/[name]-[hash]',
  external: ['better-sqlite3'],
  // CommonJS libraries inside an ES module bundle still call require() for Node's built-ins
  banner: {
    js: "import { createRequire as __cwCreateRequire } from 'node:module'; const require = __cwCreateRequire(import.meta.url);",
  },
  logLevel: 'warning',
  legalComments: 'linked',
});
