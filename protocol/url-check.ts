/** What a collector URL must look like, in the words every message about one uses. */
export const COLLECTOR_URL_RULE = 'must start with https:// (or http:// for testing)';

/**
 * Why a collector URL (`collector.url`, `enroll --collector`, a speed-test server) cannot be used, in
 * words: a missing scheme suggests the URL with one, instead of a regular expression. Undefined when it
 * is an http(s) URL with a host.
 */
export function collectorUrlProblem(value: string): string | undefined {
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(value)?.[1];
  if (scheme === undefined) {
    const host = value.trim().replace(/^\/+/, '');
    return `${COLLECTOR_URL_RULE}${host && !/\s/.test(host) ? `, e.g. https://${host}` : ''}`;
  }
  if (!/^https?$/i.test(scheme)) return `${COLLECTOR_URL_RULE}, not ${scheme}://`;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return `is not a URL (${COLLECTOR_URL_RULE}, then the host and an optional port, e.g. https://collector.example.edu.cn)`;
  }
  if (url.hostname === '') return 'has no host name, e.g. https://collector.example.edu.cn';
  return undefined;
}
