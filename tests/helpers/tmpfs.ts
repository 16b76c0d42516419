import { execFileSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Mounts a small tmpfs of `size` (e.g. `2m`); the reason when it cannot (not root, no mount here). */
export function mountTmpfs(size: string): { dir: string } | { reason: string } {
  if (process.getuid?.() !== 0) return { reason: 'mounting a tmpfs needs root' };
  const dir = mkdtempSync(join(tmpdir(), 'cw-tmpfs-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size},mode=0700`, 'tmpfs', dir], { stdio: 'pipe' });
    return { dir };
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    return { reason: `mount -t tmpfs failed: ${(err as Error).message.split('\n')[0]}` };
  }
}

/** Unmounts (lazily if busy) and removes the mount point. */
export function unmountTmpfs(dir: string): void {
  try {
    execFileSync('umount', [dir], { stdio: 'pipe' });
  } catch {
    execFileSync('umount', ['-l', dir], { stdio: 'pipe' });
  }
  rmSync(dir, { recursive: true, force: true });
}

/** Writes `file` until the filesystem refuses (ENOSPC): the filesystem is full. Returns the bytes written. */
export function fill(file: string): number {
  const fd = openSync(file, 'w');
  let bytes = 0;
  // large chunks, then small ones: a smaller write may still fit where a chunk did not
  for (const size of [64 * 1024, 512]) {
    const chunk = Buffer.alloc(size, 1);
    try {
      for (;;) bytes += writeSync(fd, chunk);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
    }
  }
  closeSync(fd);
  return bytes;
}
