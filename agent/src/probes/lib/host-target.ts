import { hostname } from 'node:os';

/**
 * The `target` of a result about the agent's own machine (host, ipv6, the security scan's host checks):
 * the host name without control characters or trailing backslashes (a tag value in InfluxDB), at most
 * 200 characters, or `fallback` when the machine has no usable name. Each probe names its own fallback
 * (`unknown-host`, `agent-host`) so that its series keep their key.
 */
export function hostTarget(fallback: string, name: string = hostname()): string {
  const clean = name
    .replace(/\p{Cc}+/gu, ' ')
    .trim()
    .slice(0, 200)
    .replace(/\\+$/, '')
    .trim();
  return clean === '' ? fallback : clean;
}
