// The collector's credentials as a probe kind that declares `needsCredentials` receives them
// (ProbeContext.credentials): the agent's token and the PEM of collector.caFile.
import type { AgentConfig } from './config.js';
import { readCaFile } from './http-client.js';
import { loadIdentity } from './identity.js';
import type { CollectorCredentials } from './probes/probe.js';

/** What an agent that never enrolled is told: the state directory it looked in, and the fix. */
export function notEnrolledMessage(stateDir: string): string {
  return `this agent is not enrolled: no identity in ${stateDir}; run 'campuswatch-agent enroll --collector URL --code CODE --state ${stateDir}'`;
}

/** A token the agent holds: the CA file's PEM is read when first asked for, then kept. */
export function collectorCredentials(token: string, caFile: string | undefined): () => CollectorCredentials {
  let ca: string | undefined;
  return () => {
    if (caFile !== undefined) ca ??= readCaFile(caFile).toString('utf8');
    return ca === undefined ? { token } : { token, ca };
  };
}

/**
 * For the one-shot commands (`probe …`): the identity of the config's state directory, loaded when a probe
 * first asks (so that `method: iperf3` runs without enrolment). Not enrolled, or a state directory this
 * user cannot read, is an error whose message names the directory and the fix.
 */
export function enrolledCredentials(
  config: Pick<AgentConfig, 'state'> & { collector: { caFile?: string | undefined } },
  caFile = config.collector.caFile,
): () => CollectorCredentials {
  let credentials: (() => CollectorCredentials) | undefined;
  return () => {
    if (!credentials) {
      const loaded = loadIdentity(config.state);
      if (!loaded) throw new Error(notEnrolledMessage(config.state));
      credentials = collectorCredentials(loaded.token, caFile);
    }
    return credentials();
  };
}
