import { closeSync, constants, fstatSync, openSync, readSync, type Stats } from 'node:fs';

/** The most a configuration file (and a file it references: a secret, a certificate) may hold. */
export const MAX_CONFIG_FILE_BYTES = 4 * 1024 * 1024;

/** `4 MiB`, `512 KiB`, `100 B`. */
export function formatBytes(n: number): string {
  if (n >= 1024 * 1024 && n % (1024 * 1024) === 0) return `${n / (1024 * 1024)} MiB`;
  if (n >= 1024 * 1024) return `${(n / (1024 * 1024)).toFixed(1)} MiB`;
  if (n >= 1024) return `${Math.round(n / 1024)} KiB`;
  return `${n} B`;
}

function kindOf(st: Stats): string {
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isFIFO()) return 'a FIFO (named pipe)';
  if (st.isSocket()) return 'a socket';
  return 'a special file';
}

/** A whole file, or why it was not read: an errno `code`, or what is wrong with its kind or size. */
export type BoundedReadResult =
  | { ok: true; content: Buffer }
  | { ok: false; code: string; refused?: undefined }
  | { ok: false; code?: undefined; refused: string };

/**
 * The failure as a sentence, naming the file when asked to: `cannot read the file /x (ENOENT)`,
 * `the file /dev/zero is a character device, not a regular file: refused (…at most 4 MiB)`.
 */
export function describeReadFailure(r: Exclude<BoundedReadResult, { ok: true }>, file?: string): string {
  const named = file === undefined ? 'the file' : `the file ${file}`;
  return r.code !== undefined ? `cannot read ${named} (${r.code})` : `${named} ${r.refused}`;
}

/**
 * Reads a whole regular file of at most `limit` bytes. Anything else — `/dev/zero`, a FIFO (opened
 * without blocking, so no writer is waited for), a directory, a file over the limit or one that grows
 * past it while being read — is refused without reading more than `limit + 1` bytes.
 */
export function readBoundedFile(file: string, limit = MAX_CONFIG_FILE_BYTES): BoundedReadResult {
  let fd: number;
  try {
    fd = openSync(file, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (err) {
    return { ok: false, code: (err as NodeJS.ErrnoException).code ?? 'error' };
  }
  try {
    const st = fstatSync(fd);
    // what reading a directory would have said
    if (st.isDirectory()) return { ok: false, code: 'EISDIR' };
    if (!st.isFile()) {
      return {
        ok: false,
        refused: `is ${kindOf(st)}, not a regular file: refused (a configuration file is a regular file of at most ${formatBytes(limit)})`,
      };
    }
    const tooLarge = (size: number): BoundedReadResult => ({
      ok: false,
      refused: `is larger than the limit of ${formatBytes(limit)}${size > limit ? ` (${formatBytes(size)})` : ''}: refused`,
    });
    if (st.size > limit) return tooLarge(st.size);
    // the size may be wrong (a file in /proc says 0) or change: read to the end, never past limit + 1
    let content = Buffer.allocUnsafe(Math.min(limit + 1, Math.max(st.size, 64 * 1024) + 1));
    let length = 0;
    for (;;) {
      if (length === content.length) {
        if (content.length > limit) break;
        const bigger = Buffer.allocUnsafe(Math.min(limit + 1, content.length * 2));
        content.copy(bigger, 0, 0, length);
        content = bigger;
      }
      const n = readSync(fd, content, length, content.length - length, null);
      if (n === 0) break;
      length += n;
    }
    if (length > limit) return tooLarge(0);
    return { ok: true, content: content.subarray(0, length) };
  } catch (err) {
    return { ok: false, code: (err as NodeJS.ErrnoException).code ?? 'error' };
  } finally {
    closeSync(fd);
  }
}
