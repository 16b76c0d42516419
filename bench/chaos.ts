// bench/chaos: 20 agent processes send 10,000 reports to one real collector process backed by a real influxd,
// while the collector is SIGKILLed 5 times, influxd 3 times and agents 20 times (each restarted on the same
// port / data / spool). Afterwards every report must be in InfluxDB exactly once (ratio 1.000), every spool
// empty and the collector's ingest journal in agreement. Exit code 1 when anything was lost or duplicated.
//
// The agents are tests/helpers/chaos-agent.ts: the real Spool and the real Forwarder (its run loop) at a fixed
// report rate, not the whole agent with its scheduler and probes. The harness is tests/helpers/chaos.ts.
// Run with: npx tsx bench/chaos.ts [--smoke] [--agents 20] [--schools 5] [--reports 10000] [--period-ms 200]
//           [--collector-kills 5] [--influxd-kills 3] [--agent-kills 20] [--seed N] [--keep]
import { type ChaosResult, runChaos } from '../tests/helpers/chaos.js';
import { influxdAvailable } from '../tests/helpers/influxd.js';

function argValue(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}
function intArg(name: string, fallback: number, min: number): number {
  const raw = argValue(name);
  const n = raw === undefined ? fallback : Number(raw);
  if (!Number.isInteger(n) || n < min) {
    console.error(`bench/chaos: ${name} must be an integer ≥ ${min}`);
    process.exit(2);
  }
  return n;
}

/** `--smoke` (scripts/bench-smoke.sh): 4 agents × 6 reports, one kill of each kind; the same checks and verdict. */
const smoke = process.argv.includes('--smoke');
const agents = intArg('--agents', smoke ? 4 : 20, 1);
const schools = intArg('--schools', smoke ? 2 : 5, 1);
const reports = intArg('--reports', smoke ? 24 : 10_000, agents);
const periodMs = intArg('--period-ms', 200, 1);
const kills = {
  collector: intArg('--collector-kills', smoke ? 1 : 5, 0),
  influxd: intArg('--influxd-kills', smoke ? 1 : 3, 0),
  agent: intArg('--agent-kills', smoke ? 1 : 20, 0),
};
const seedArg = argValue('--seed');
if (reports % agents !== 0) {
  console.error('bench/chaos: --reports must be a multiple of --agents');
  process.exit(2);
}
const skip = influxdAvailable();
if (skip) {
  console.error(`bench/chaos: cannot run: ${skip}`);
  process.exit(2);
}

const perAgent = reports / agents;
console.log(
  `bench/chaos: ${agents} agents (${Math.min(agents, schools)} schools) × ${perAgent} reports, one every ${periodMs} ms per agent`,
);
console.log(
  '  agents: tests/helpers/chaos-agent.ts — the real Spool + Forwarder at a fixed report rate (no scheduler, no probes)',
);
console.log(
  '  collector: collector/src/cli.ts run (own process); InfluxDB: real influxd 1.x (tests/helpers/influxd.ts)',
);
console.log(
  `  chaos: SIGKILL collector ×${kills.collector}, influxd ×${kills.influxd}, agents ×${kills.agent} (each restarted)\n`,
);

let result: ChaosResult;
try {
  result = await runChaos({
    agents,
    schools: Math.min(agents, schools),
    reportsPerAgent: perAgent,
    periodMs,
    kills,
    ...(seedArg !== undefined ? { seed: Number(seedArg) } : {}),
    keepDir: process.argv.includes('--keep'),
    log: (line) => console.log(line),
  });
} catch (err) {
  console.error(`\nbench/chaos: the run failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
}

const r = result;
const pad = (s: string | number, n: number) => String(s).padStart(n);
console.log('\nper school              agents    made  agent pts  device pts  ingested');
for (const s of r.perSchool) {
  console.log(
    `  ${s.school.padEnd(20)} ${pad(s.agents, 6)} ${pad(s.made, 7)} ${pad(s.agentPoints, 10)} ${pad(s.devicePoints, 11)} ${pad(s.ingested, 9)}`,
  );
}
const stops = Object.entries(r.stops)
  .sort(([a], [b]) => a.localeCompare(b))
  .map(([k, v]) => `${k}: ${v}`)
  .join(', ');
console.log(`
reports made               ${r.made} (expected ${r.expected})
reports in InfluxDB        ${r.inInflux} (agent measurement; device measurement per school above)
duplicates                 ${r.duplicates}
missing                    ${r.missing}
ratio in InfluxDB ÷ made   ${r.ratio.toFixed(3)}  (must be exactly 1.000)
kills performed            collector ${r.kills.collector}, influxd ${r.kills.influxd}, agents ${r.kills.agent} (agent lives ${r.agentLives})
reports made again         ${r.madeAgain} (a killed agent's next report was already spooled: same reportId, not spooled twice)
agents saw                 5xx ${r.status5xx}, 4xx ${r.status4xx}, network errors ${r.networkErrors} (stopped flushes: ${stops || 'none'})
refused for good           ${r.rejected}
spools                     ${r.spools.empty}/${r.spools.total} empty, dropped ${r.spools.dropped}, dead-letter ${r.spools.rejected}, integrity ok ${r.spools.integrityOk}/${r.spools.total}
collector journal          ${r.collector.ingestsDone} done, ${r.collector.ingestsWriting} writing, ${r.collector.unexpectedIds} unknown ids, ${r.collector.outOfOrderAgents} agents out of order
collector /healthz         ${JSON.stringify(r.collector.healthz)}
wall time                  ${(r.wallMs / 1000).toFixed(1)} s (seed ${r.seed})
verdict                    ${r.ok ? 'PASS' : 'FAIL'}`);
if (!r.ok) {
  console.log('\nproblems:');
  for (const p of r.problems) console.log(`  - ${p}`);
}
process.exit(r.ok ? 0 : 1);
