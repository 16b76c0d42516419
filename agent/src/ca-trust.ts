/**
 * The agent was given a CA (`--ca-file`, `collector.caFile`) and the collector's certificate does not chain
 * to it: said in words, naming the file, instead of OpenSSL's code alone. A district's CA comes from
 * `campuswatch-collector tls init` (its ca.crt).
 */

/** TLS verification codes that mean: no chain from the server's certificate to the CA trusted. */
export const NOT_SIGNED_BY_CA: ReadonlySet<string> = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_SIGNATURE_FAILURE',
]);

/**
 * `the collector at URL is not trusted: its TLS certificate is not signed by the CA in FILE (CODE: text)`
 * when `err` is such a failure, else undefined. `setting` is how the user named the file (--ca-file or
 * collector.caFile), for the fix.
 */
export function notSignedByCa(
  err: unknown,
  caFile: string,
  collectorUrl: string,
  setting = '--ca-file',
): string | undefined {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (code === undefined || !NOT_SIGNED_BY_CA.has(code)) return undefined;
  const text = err instanceof Error ? err.message : String(err);
  return `the collector at ${collectorUrl} is not trusted: its TLS certificate is not signed by the CA in ${caFile} (${code}: ${text}); give ${setting} the CA that signed the collector's certificate (the ca.crt written by 'campuswatch-collector tls init')`;
}
