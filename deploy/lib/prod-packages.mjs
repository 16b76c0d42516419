#!/usr/bin/env node
// Helper of deploy/install-agent.sh: prints the top-level node_modules/ directories of the production
// dependencies listed in a package-lock.json (lockfileVersion 2 or 3), one per line. Copying only those
// (nested node_modules come along with their parent) keeps a checkout's build tools out of /opt.
// It needs nothing but Node: it runs before the package is installed.
import { readFileSync } from 'node:fs';

const file = process.argv[2];
if (!file) {
  process.stderr.write('usage: prod-packages.mjs PACKAGE-LOCK.JSON\n');
  process.exit(2);
}
const lock = JSON.parse(readFileSync(file, 'utf8'));
if (!lock.packages) {
  process.stderr.write(
    `${file}: no "packages" (lockfileVersion ${lock.lockfileVersion}): npm 7 or later writes it\n`,
  );
  process.exit(1);
}
for (const [path, entry] of Object.entries(lock.packages)) {
  if (!path.startsWith('node_modules/') || entry.dev) continue;
  if (path.slice('node_modules/'.length).includes('/node_modules/')) continue; // copied with its parent
  process.stdout.write(`${path}\t${entry.optional ? 'optional' : 'required'}\n`);
}
