/**
 * The term report's fixture (issue 26 acceptance 1): 3 districts × 30 schools (urban and rural, three
 * education groups per district) and two terms of evidence written through the state store's own API —
 * each school's agent enrolled with a code, one ingest per term (compliance rows, teaching-hours
 * availability samples, speed tests, findings), as the ingest route stores a report.
 *
 * The states per school, target and term come from a seeded generator (`stateOf`), so a test can say
 * what changed between the terms without asking the code under test.
 */
import { readFileSync } from 'node:fs';
import { parse, stringify } from 'yaml';
import type { FindingRecord } from '../../collector/src/evaluate/findings.js';
import { TARGET_NAMES } from '../../collector/src/evaluate/targets/registry.js';
import type { ComplianceRow, ComplianceState } from '../../collector/src/evaluate/targets/target.js';
import type { AgentRecord, StateStore } from '../../collector/src/store/state.js';
import { DEFAULT_TARGETS_FILE, parseTargets, type TargetsConfig } from '../../collector/src/targets.js';
import type { SecurityResult } from '../../protocol/report.js';
import type { School } from '../../protocol/school.js';

export const DISTRICTS = ['武进区', '新北区', '金坛区'] as const;
export const GROUP_NAMES = ['星河教育集团', '湖塘教育集团', '实验教育集团'] as const;
export const SCHOOLS_PER_DISTRICT = 30;

export const TERM1 = { name: '2026-2027学年第一学期', from: '2026-09-01', to: '2027-01-22' };
export const TERM2 = { name: '2026-2027学年第二学期', from: '2027-02-22', to: '2027-07-02' };
/** 金坛区 keeps its own calendar: its terms end a week later. */
export const JINTAN_TERM1 = { ...TERM1, to: '2027-01-29' };
export const JINTAN_TERM2 = { ...TERM2, from: '2027-03-01', to: '2027-07-09' };

/** The first moment after each term in every district (Asia/Shanghai): when the snapshots are taken. */
export const AFTER_TERM1 = new Date('2027-01-30T02:00:00+08:00');
export const AFTER_TERM2 = new Date('2027-07-10T02:00:00+08:00');

const CODES: Record<string, string> = { 武进区: 'wj', 新北区: 'xb', 金坛区: 'jt' };

/** The shipped targets.yaml with the two terms (city) and 金坛区's own calendar. */
export function fixtureTargetsYaml(): string {
  const base = parse(readFileSync(DEFAULT_TARGETS_FILE, 'utf8')) as Record<string, Record<string, unknown>>;
  const hours = base.deviceAvailability!.teachingHours as Record<string, unknown>;
  hours.terms = [TERM1, TERM2];
  base.districts = {
    金坛区: {
      deviceAvailability: { teachingHours: { ...hours, terms: [JINTAN_TERM1, JINTAN_TERM2] } },
      recordingRoom: { districtGoalPct: 90 },
    },
  };
  return stringify(base);
}

export function fixtureTargets(): TargetsConfig {
  return parseTargets(fixtureTargetsYaml(), 'targets.yaml');
}

/** Names a reader must get back intact: quotes, a comma, full-width brackets. */
function schoolName(district: string, n: number): string {
  if (n === 7) return `${district}"星河",实验学校（东校区）`;
  if (n === 13) return `${district}湖塘桥初级中学 · 南校区`;
  return `${district}第${n}实验小学`;
}

/** The fixture's schools; a bench asks for more districts and schools (any names). */
export function fixtureSchools(
  districts: readonly string[] = DISTRICTS,
  perDistrict = SCHOOLS_PER_DISTRICT,
): School[] {
  return districts.flatMap((district, d) =>
    Array.from({ length: perDistrict }, (_, i): School => {
      const n = i + 1;
      return {
        id: `${CODES[district] ?? `d${d}`}-${String(n).padStart(2, '0')}`,
        name: schoolName(district, n),
        district,
        group: `${district.slice(0, 2)}${GROUP_NAMES[i % 3]}`,
        area: i % 3 === 1 ? 'rural' : 'urban',
        stage: i % 2 === 0 ? 'primary' : 'junior',
        pupils: 600 + ((i * 137) % 2400),
        timezone: 'Asia/Shanghai',
      };
    }),
  );
}

/** A deterministic number in [0, 1) per (school, target, salt). */
function noise(school: number, target: number, salt: number): number {
  let x = (school * 7919 + target * 104_729 + salt * 1_299_709) >>> 0;
  x ^= x << 13;
  x >>>= 0;
  x ^= x >>> 17;
  x ^= x << 5;
  x >>>= 0;
  return (x % 10_000) / 10_000;
}

/**
 * A school's state of a target in a term: term 1 from the generator; in term 2 about one row in eight
 * changes (to met, to not met, or to unmonitored), the rest stays.
 */
export function stateOf(term: 1 | 2, school: number, target: number): ComplianceState {
  const first = noise(school, target, 1);
  const s1: ComplianceState = first < 0.6 ? 'met' : first < 0.85 ? 'not_met' : 'no_data';
  if (term === 1) return s1;
  const flip = noise(school, target, 2);
  if (flip >= 0.125) return s1;
  const to = noise(school, target, 3);
  const choices = (['met', 'not_met', 'no_data'] as const).filter((s) => s !== s1);
  return choices[to < 0.7 ? 0 : 1]!;
}

function rowsOf(term: 1 | 2, school: number, at: string): ComplianceRow[] {
  return TARGET_NAMES.map((target, j) => {
    const state = stateOf(term, school, j);
    return {
      target,
      state,
      value: state === 'met' ? 100 : state === 'not_met' ? 40 + j : null,
      goal: 90,
      reason: `fixture term ${term}: ${state}`,
      evidenceAt: state === 'no_data' ? null : at,
      expiresAt: null,
    };
  });
}

/** A day of a term (YYYY-MM-DD), `k` days after its first. */
const dayOf = (from: string, k: number) =>
  new Date(Date.parse(`${from}T00:00:00Z`) + k * 86_400_000).toISOString().slice(0, 10);

export interface Fixture {
  schools: School[];
  agents: Map<string, AgentRecord>;
}

/** Registers the schools and enrols one agent each (through an enrolment code). */
export async function registerFixture(store: StateStore, schools = fixtureSchools()): Promise<Fixture> {
  const agents = new Map<string, AgentRecord>();
  for (const s of schools) {
    await store.upsertSchool(s);
    const { code } = await store.createEnrollCode(s.id, 86_400_000, Date.parse('2026-08-20T00:00:00Z'));
    const enrolled = await store.enroll(
      code,
      { hostname: `box-${s.id}`, version: '0.1.0' },
      Date.parse('2026-08-20T01:00:00Z'),
    );
    if ('error' in enrolled) throw new Error(`enrolment of ${s.id}: ${enrolled.error}`);
    agents.set(s.id, enrolled.agent);
  }
  return { schools, agents };
}

/** The teaching-hours samples a school sends in a term: `up` of `total`. */
export function availabilityOf(term: 1 | 2, school: number): { up: number; total: number } {
  const total = 40;
  return { up: total - ((school * (term === 1 ? 3 : 5)) % 7), total };
}

/** The speed tests of a school in a term (Mbit/s per direction, three each). */
export function speedsOf(term: 1 | 2, school: number): { down: number[]; up: number[] } {
  const base = 200 + ((school * 53 + term * 71) % 900);
  return { down: [base, base + 20, base - 10], up: [base - 40, base - 30, base - 50] };
}

/**
 * One ingest per school of a term: its compliance rows, availability samples, three speed tests per
 * direction in the term and, for some schools, findings (every fifth school an open high finding first seen
 * in term 1; every ninth a critical one opened in the term).
 */
export async function loadTerm(store: StateStore, f: Fixture, term: 1 | 2): Promise<void> {
  for (const [i, s] of f.schools.entries()) {
    const t =
      s.district === '金坛区' ? (term === 1 ? JINTAN_TERM1 : JINTAN_TERM2) : term === 1 ? TERM1 : TERM2;
    const at = `${t.to}T08:00:00.000Z`;
    const agent = f.agents.get(s.id)!;
    const { up, total } = availabilityOf(term, i);
    const availability = Array.from({ length: total }, (_, k) => ({
      device: `录播主机 ${k % 4}`,
      day: dayOf(t.from, k),
      up: k >= total - up,
    }));
    const speeds = speedsOf(term, i);
    const bandwidth = (['down', 'up'] as const).flatMap((direction) =>
      speeds[direction].map((mbps, k) => ({
        probe: 'bandwidth' as const,
        target: 'collector',
        outcome: 'ok' as const,
        durationMs: 10_000,
        at: `${dayOf(t.from, 10 + k * 20)}T18:00:00.000Z`,
        method: 'http' as const,
        direction,
        mbps,
        streams: 4,
        durationS: 10,
        bytes: Math.round(mbps * 1_250_000),
      })),
    );
    const findings: FindingRecord[] = [];
    const finding = (
      rule: string,
      severity: FindingRecord['severity'],
      firstSeen: string,
      state: FindingRecord['state'],
      resolvedAt: string | null,
    ): FindingRecord => ({
      schoolId: s.id,
      rule,
      target: '10.0.0.1',
      port: 23,
      severity,
      mlps: '7.1.3.2 a)',
      protectionLevel: 2,
      state,
      evidence: 'fixture',
      value: null,
      firstSeen,
      lastSeen: at,
      count: 1,
      resolvedAt,
      acceptedUntil: null,
      acceptedReason: null,
    });
    if (i % 5 === 0)
      findings.push(
        finding('cleartext-telnet', 'high', `${dayOf(TERM1.from, 3)}T02:00:00.000Z`, 'open', null),
      );
    if (i % 9 === 0)
      findings.push(
        term === 1
          ? finding('snmp-default-community', 'critical', `${dayOf(t.from, 100)}T02:00:00.000Z`, 'open', null)
          : finding(
              'snmp-default-community',
              'critical',
              `${dayOf(TERM1.from, 100)}T02:00:00.000Z`,
              'resolved',
              `${dayOf(t.from, 5)}T02:00:00.000Z`,
            ),
      );
    const reportId = `fixture-${term}-${s.id}`;
    const receivedAt = new Date(at);
    await store.beginIngest({ reportId, agentId: agent.id, schoolId: s.id, shiftMs: 0, finishedAt: at });
    const done = await store.completeIngest({
      reportId,
      agent,
      results: [...bandwidth, ...securityResults(findings)],
      shiftMs: 0,
      clockOffsetMs: 0,
      receivedAt,
      compliance: rowsOf(term, i, at),
      availability,
      findings,
    });
    if (!done) throw new Error(`ingest ${reportId} was not applied`);
  }
}

function securityResults(findings: readonly FindingRecord[]): SecurityResult[] {
  return findings.map((f) => ({
    probe: 'security',
    target: f.target,
    outcome: 'ok',
    durationMs: 5,
    at: f.lastSeen,
    rule: f.rule,
    port: f.port,
    finding: f.state === 'open',
    evidence: f.evidence,
  }));
}

/** What a school of the fixture is, by its index in fixtureSchools(). */
export const fixtureIndex = (schools: readonly School[], id: string) => schools.findIndex((s) => s.id === id);
