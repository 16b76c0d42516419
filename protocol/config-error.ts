import { isIP } from 'node:net';
import type { Problem } from './validate.js';

// Kept apart from config-file.ts (TypeBox, YAML) so that a CLI can recognise the error, and check a host,
// without loading them.

/** Turns `devices/2/address` into `devices[2].address`, the way a YAML reader thinks of it. */
export function yamlPath(slashPath: string): string {
  return slashPath
    .split('/')
    .map((seg, i) => (/^\d+$/.test(seg) ? `[${seg}]` : i === 0 ? seg : `.${seg}`))
    .join('');
}

/** A configuration file that cannot be used; the message names the file, each field's path and what was expected. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(
    readonly file: string,
    readonly problems: readonly Problem[],
    options?: { cause?: unknown },
  ) {
    super(
      problems
        .map((p) => (p.path ? `${file}: ${yamlPath(p.path)}: ${p.message}` : `${file}: ${p.message}`))
        .join('\n'),
      options,
    );
  }
}

/**
 * Loopback hosts may be spoken to (or listened on) in plain HTTP: 127.0.0.0/8, ::1 (also as
 * ::ffff:127.x.y.z) and `localhost`. Brackets around an IPv6 address are allowed.
 */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (h === 'localhost' || h === 'localhost.') return true;
  const family = isIP(h);
  if (family === 4) return h.startsWith('127.');
  if (family === 6) {
    let canonical: string;
    try {
      canonical = new URL(`http://[${h}]/`).hostname.replace(/^\[|\]$/g, '');
    } catch {
      return false;
    }
    return canonical === '::1' || /^::ffff:7f[0-9a-f]{2}:[0-9a-f]{1,4}$/.test(canonical);
  }
  return false;
}
