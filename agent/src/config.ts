import { X509Certificate } from 'node:crypto';
import { type Static, Type } from 'typebox';
import {
  type CrossCheck,
  isLoopbackHost,
  loadConfigFile,
  parseConfig,
  readConfiguredFile,
} from '../../protocol/config-file.js';
import { isValidTimezone, School } from '../../protocol/school.js';
import { collectorUrlProblem } from '../../protocol/url-check.js';
import type { Problem } from '../../protocol/validate.js';
import { inventoryProblems } from './inventory.js';
import { InventoryConfig, RoomConfig } from './inventory-config.js';
import { Seconds } from './probes/lib/config-parts.js';
import { PROBE_SCHEMAS, probeBlockProblems } from './probes/schemas.js';

/** The built-in device types (protocol/vocabulary.ts): the agent's are the protocol's. */
export { DEVICE_TYPES, type DeviceType } from '../../protocol/vocabulary.js';

/** `collector.maxReportBytes` by default: the collector's default `ingest.bodyLimitBytes` (1 MiB). */
export const DEFAULT_MAX_REPORT_BYTES = 1_048_576;

export const AgentConfig = Type.Object(
  {
    school: School,
    collector: Type.Object(
      {
        /** Checked in words by collectorProblems (a regular expression would be the error message). */
        url: Type.String({ minLength: 1, maxLength: 2000, description: 'http(s)://host[:port]' }),
        /** PEM CA certificate(s): when set, only these are trusted for the collector and its speed-test service. */
        caFile: Type.Optional(
          Type.String({
            description:
              'PEM CA certificate(s): when set, only these are trusted for the collector and its speed-test service.',
            minLength: 1,
          }),
        ),
        /** Speak plain HTTP to a collector that is not on loopback (the token travels in clear text). */
        allowPlainHttp: Type.Boolean({
          description:
            'Speak plain HTTP to a collector that is not on loopback (the token travels in clear text).',
          default: false,
        }),
        requestTimeoutS: Seconds(30, 1, 600, "seconds to wait for the collector's answer"),
        /**
         * A cycle whose report is larger is sent as several reports (parts), each at most this many bytes of
         * JSON before compression. The default is the collector's default `ingest.bodyLimitBytes`: keep it at
         * most the collector's body limit (a collector that predates gzip reads the body as it is sent).
         */
        maxReportBytes: Type.Optional(
          Type.Integer({
            default: DEFAULT_MAX_REPORT_BYTES,
            minimum: 16_384,
            maximum: 64 * 1_048_576,
            description:
              "a cycle's results are split into reports of at most this many bytes of JSON (before gzip); at most the collector's ingest.bodyLimitBytes",
          }),
        ),
        /** Send request bodies gzip-compressed (`Content-Encoding: gzip`). */
        gzip: Type.Optional(
          Type.Boolean({
            default: true,
            description:
              'send reports gzip-compressed (Content-Encoding: gzip); a collector that refuses them gets them uncompressed',
          }),
        ),
      },
      { additionalProperties: false },
    ),
    state: Type.String({
      default: '/var/lib/campuswatch-agent',
      minLength: 1,
      description: 'directory of the token and the spool; writable by the service user only',
    }),
    cycle: Type.Object(
      {
        intervalS: Seconds(60, 5, 86_400, 'seconds between two reports'),
        jitterPct: Type.Number({
          default: 10,
          minimum: 0,
          maximum: 50,
          description: 'random spread of the cycle, %',
        }),
      },
      { additionalProperties: false, default: {} },
    ),
    spool: Type.Object(
      {
        maxReports: Type.Integer({
          default: 20_000,
          minimum: 10,
          maximum: 10_000_000,
          description:
            'reports kept while the collector is away; the oldest are dropped (and counted) beyond',
        }),
        maxDeadLetters: Type.Integer({
          default: 100,
          minimum: 0,
          maximum: 100_000,
          description:
            'reports the collector refused for good, kept for `spool list --dead` and `spool replay`; the oldest are dropped (and counted) beyond',
        }),
      },
      { additionalProperties: false, default: {} },
    ),
    /** One block per probe kind, from the kinds' folders (agent/src/probes/schemas.ts). */
    probes: Type.Object(PROBE_SCHEMAS, { additionalProperties: false, default: {} }),
    inventory: InventoryConfig,
    rooms: Type.Array(RoomConfig, { default: [], maxItems: 2000 }),
  },
  { additionalProperties: false },
);
export type AgentConfig = Static<typeof AgentConfig>;

/** `collector.url`: https, or plain HTTP to loopback, or allowed; `collector.caFile`: a readable PEM bundle. */
function collectorProblems(c: AgentConfig): Problem[] {
  const problems: Problem[] = [];
  let url: URL | undefined;
  const urlProblem = collectorUrlProblem(c.collector.url);
  if (urlProblem) problems.push({ path: 'collector/url', message: urlProblem });
  else url = new URL(c.collector.url);
  if (url?.protocol === 'http:' && !c.collector.allowPlainHttp && !isLoopbackHost(url.hostname)) {
    problems.push({
      path: 'collector/url',
      message: `plain HTTP to the non-loopback host ${url.hostname} sends the agent token in clear text: use https:// or set collector.allowPlainHttp: true`,
    });
  }
  if (c.collector.caFile !== undefined) {
    const r = readConfiguredFile('collector/caFile', c.collector.caFile);
    if (!r.ok) problems.push(r.problem);
    else {
      try {
        new X509Certificate(r.content);
      } catch {
        problems.push({
          path: 'collector/caFile',
          message: `${c.collector.caFile} holds no PEM certificate`,
        });
      }
    }
  }
  return problems;
}

/**
 * Is the school's time zone known? A canonical IANA name is found in Intl.supportedValuesOf; only another
 * spelling (an alias such as UTC or Asia/Chongqing, other letter case) is tried with Intl.DateTimeFormat,
 * whose first use loads ICU's date-formatting data: ~8 MiB that the daemon would keep for good.
 */
function knownTimeZone(tz: string): boolean {
  return Intl.supportedValuesOf('timeZone').includes(tz) || isValidTimezone(tz);
}

const crossCheck: CrossCheck<AgentConfig> = (c) => {
  const problems: Problem[] = [];
  if (!knownTimeZone(c.school.timezone)) {
    problems.push({
      path: 'school/timezone',
      message: `unknown time zone ${JSON.stringify(c.school.timezone)}`,
    });
  }
  problems.push(...collectorProblems(c));
  for (const [name, p] of Object.entries(c.probes)) {
    if (p.timeoutS >= p.intervalS) {
      problems.push({
        path: `probes/${name}/timeoutS`,
        message: `must be less than intervalS (${p.intervalS})`,
      });
    }
  }
  problems.push(...probeBlockProblems(c.probes));
  problems.push(...inventoryProblems(c));
  return problems;
};

export function loadAgentConfig(file: string): AgentConfig {
  return loadConfigFile(AgentConfig, file, crossCheck);
}

export function parseAgentConfig(text: string, file = '<inline>'): AgentConfig {
  return parseConfig(AgentConfig, text, file, crossCheck);
}
