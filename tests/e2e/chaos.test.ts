import { describe, expect, it } from 'vitest';
import {
  type AgentObservation,
  type ChaosObservations,
  chaosSchools,
  judgeChaos,
  runChaos,
} from '../helpers/chaos.js';
import { chaosReportId, chaosReportTime } from '../helpers/chaos-report.js';
import { influxdAvailable } from '../helpers/influxd.js';

const skip = influxdAvailable();
if (skip) console.warn(`[chaos.test] SKIPPED: ${skip}`);

/** What a flawless run of `agents` agents (two per school) × `count` reports looks like. */
function flawless(agents: number, count: number): ChaosObservations {
  const plan = { t0Ms: Date.parse('2025-09-01T08:00:00Z'), periodMs: 250, count };
  const schools = chaosSchools(Math.ceil(agents / 2)).map((s) => s.id);
  const times = Array.from({ length: count }, (_, i) => chaosReportTime(plan, i));
  const observed: AgentObservation[] = Array.from({ length: agents }, (_, k) => ({
    name: `agent-${k + 1}`,
    agentId: `ag_test${k + 1}`,
    schoolId: schools[Math.floor(k / 2)]!,
    spooled: new Set(times.map((_, i) => i)),
    spool: { depth: 0, dropped: 0, rejected: 0, integrity: 'ok', made: count },
    influxTimes: times,
  }));
  return {
    plan,
    schools,
    agents: observed,
    journal: observed.flatMap((a) =>
      times.map((t, i) => ({
        reportId: chaosReportId(a.agentId, i, t),
        agentId: a.agentId,
        schoolId: a.schoolId,
        state: 'done',
      })),
    ),
    devicePoints: new Map(schools.map((id) => [id, 2 * count])),
    killsPlanned: { collector: 1, influxd: 1, agent: 1 },
    killsPerformed: { collector: 1, influxd: 1, agent: 1 },
  };
}

describe('the chaos verdict (tests/helpers/chaos.ts judgeChaos)', () => {
  it('passes a flawless run', () => {
    const v = judgeChaos(flawless(4, 5));
    expect(v.problems).toEqual([]);
    expect(v).toMatchObject({ ok: true, made: 20, inInflux: 20, missing: 0, duplicates: 0, ratio: 1 });
  });

  it('catches a lost report, a report ingested under a second reportId, a full spool and a missed kill', () => {
    const o = flawless(4, 5);
    const [a1, a2, a3] = o.agents as [AgentObservation, AgentObservation, AgentObservation];
    const lost = { ...a1, influxTimes: a1.influxTimes.filter((_, i) => i !== 2) };
    // a killed agent that made report 3 again under a new id, at a new time: a second point and journal row
    const doubledAt = chaosReportTime(o.plan, 3) + 1;
    const doubled = { ...a2, influxTimes: [...a2.influxTimes, doubledAt] };
    const stuck = { ...a3, spool: { ...a3.spool, depth: 1 } };
    const v = judgeChaos({
      ...o,
      agents: [lost, doubled, stuck, o.agents[3]!],
      journal: [
        ...o.journal,
        {
          reportId: chaosReportId(a2.agentId, 99, doubledAt),
          agentId: a2.agentId,
          schoolId: a2.schoolId,
          state: 'done',
        },
      ],
      killsPerformed: { collector: 1, influxd: 0, agent: 1 },
    });
    expect(v.ok).toBe(false);
    expect(v).toMatchObject({ missing: 1, duplicates: 2, inInflux: 20 });
    expect(v.problems).toEqual([
      'agent-1: 1 report(s) missing in InfluxDB, first index 2',
      'agent-2: 1 point(s) in InfluxDB at times no report has',
      "agent-2: the collector's journal holds 6 report(s), not the 5 made, in order",
      'agent-3: 1 report(s) still spooled',
      'the collector ingested 1 reportId(s) no agent made',
      "the collector's journal has 21 done, agents made 20",
      'chaos-01: 11 ingested for 10 reports',
      '0 influxd kill(s) performed of 1 planned',
    ]);
  });
});

describe.skipIf(skip !== undefined)(
  `chaos: 20 agent processes, collector and influxd SIGKILLed and restarted${skip ? ` (SKIPPED: ${skip})` : ''}`,
  () => {
    const cases = [
      {
        title:
          '20 agents × 15 reports, collector killed 2×, influxd 1×, agents 5×: every report in InfluxDB exactly once, every spool empty',
        outbox: false,
      },
      {
        title:
          'the same with the collector answering from its outbox (influx.outbox): a killed collector leaves nothing unwritten',
        outbox: true,
      },
    ];
    for (const { title, outbox } of cases)
      it(title, async () => {
        const kills = { collector: 2, influxd: 1, agent: 5 };
        const progress: string[] = [];
        const r = await runChaos({
          agents: 20,
          schools: 4,
          reportsPerAgent: 15,
          periodMs: 800,
          kills,
          outbox,
          log: (line) => progress.push(line),
        }).catch((err: unknown) => {
          console.error(`chaos run failed:\n${progress.join('\n')}`);
          throw err;
        });
        if (!r.ok) console.error(`chaos run (seed ${r.seed}):\n${progress.join('\n')}`);
        expect(r.problems).toEqual([]);
        expect(r.kills).toEqual(kills);
        expect(r).toMatchObject({
          made: 300,
          inInflux: 300,
          missing: 0,
          duplicates: 0,
          ratio: 1,
          rejected: 0,
        });
        expect(r.perSchool).toEqual(
          chaosSchools(4).map((s) => ({
            school: s.id,
            agents: 5,
            made: 75,
            agentPoints: 75,
            devicePoints: 75,
            ingested: 75,
          })),
        );
        expect(r.spools).toEqual({ empty: 20, total: 20, dropped: 0, rejected: 0, integrityOk: 20 });
        expect(r.collector).toMatchObject({
          ingestsDone: 300,
          ingestsWriting: 0,
          unexpectedIds: 0,
          outOfOrderAgents: 0,
          healthz: { status: 'ok', influx: 'ok' },
        });
        // the outages were real: agents met a dead collector (network errors); without the outbox a dead
        // influxd is a 503 to them, with it the collector queues their series until influxd is back
        expect(r.networkErrors).toBeGreaterThan(0);
        if (!outbox) expect(r.stops['HTTP 503']).toBeGreaterThan(0);
        expect(r.agentLives).toBe(20 + kills.agent);
      }, 120_000);
  },
);
