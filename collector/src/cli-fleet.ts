/**
 * `campuswatch-collector agent list|revoke|rename` and `school list|update|archive`: the lifecycle of
 * agents and schools (issue 24) on the configured state store. A revocation counts at the agent's next
 * request on every collector of that store; an archived school keeps its history, leaves the KPIs and
 * alerts, and its agents are revoked. Every change is audited as `cli:<os user>`.
 */
import type { Command } from 'commander';
import { formatTable, UsageError } from '../../protocol/cli.js';
import {
  auditCli,
  type CommonOpts,
  type ConfigOf,
  checkTierAgreesWithPupils,
  dataFlags,
  type WithState,
} from './cli-common.js';
import { tierOf } from './evaluate/compliance.js';
import { agentNameProblem, agentView, patchedSchool, type SchoolPatch } from './fleet.js';
import { DEFAULT_TARGETS_FILE, loadTargets } from './targets.js';

/** The flags of `school update`, by the school field each sets. */
const UPDATE_FLAGS = {
  name: ['--name <name>', 'school name'],
  district: ['--district <district>', 'district (区/县)'],
  group: ['--group <group>', 'education group (教育集团)'],
  tier: ['--tier <tier>', 'size tier: small|medium|large'],
  pupils: ['--pupils <n>', 'pupil count'],
  area: ['--area <area>', 'urban|rural'],
  stage: ['--stage <stage>', '学段: primary|junior|senior|nine-year|twelve-year'],
  protectionLevel: ['--protection-level <n>', '等级保护级别: 2 or 3'],
  timezone: ['--timezone <tz>', 'IANA time zone'],
} as const satisfies Record<keyof SchoolPatch, readonly [string, string]>;

/** protectionLevel → --protection-level */
const flagOf = (field: string) => `--${field.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;

/** `3`, `3 (1 never reported, 1 silent)`: a school's active agents and those that need a look. */
function agentsText(s: { agents: number; agentsNeverReported: number; agentsSilent: number }): string {
  const notes = [
    ...(s.agentsNeverReported > 0 ? [`${s.agentsNeverReported} never reported`] : []),
    ...(s.agentsSilent > 0 ? [`${s.agentsSilent} silent`] : []),
  ];
  return notes.length > 0 ? `${s.agents} (${notes.join(', ')})` : String(s.agents);
}

export function addFleetCommands(
  program: Command,
  withState: WithState,
  school: Command,
  configOf: ConfigOf,
): void {
  const agent = program
    .command('agent')
    .description('enrolled agents: list them, revoke one (its token is refused at once), name one');

  dataFlags(agent.command('list').description('list agents: status, version, last report, revoked ones'))
    .option('--school <id>', 'one school')
    .option('--json', 'print JSON')
    .action(async (o: CommonOpts & { school?: string; json?: boolean }) => {
      const silentS = configOf(o).alerts.agentSilentS;
      await withState(o, async (state) => {
        if (o.school !== undefined && !(await state.getSchool(o.school)))
          throw new UsageError(`--school: unknown school ${JSON.stringify(o.school)}`);
        const now = new Date();
        const agents = (await state.listAgents(o.school, { includeRevoked: true }))
          .map((a) => agentView(a, now, silentS))
          .sort((a, b) =>
            a.schoolId < b.schoolId ? -1 : a.schoolId > b.schoolId ? 1 : a.id < b.id ? -1 : 1,
          );
        if (o.json) {
          process.stdout.write(`${JSON.stringify({ agents }, null, 2)}\n`);
          return;
        }
        process.stdout.write(
          agents.length === 0
            ? 'no agents\n'
            : `${formatTable(
                ['school', 'agent', 'name', 'hostname', 'version', 'status', 'last report', 'enrolled'],
                agents.map((a) => [
                  a.schoolId,
                  a.id,
                  a.name ?? '-',
                  a.hostname,
                  a.version,
                  (a.status === 'revoked'
                    ? `revoked ${a.revokedAt}`
                    : a.status === 'never_reported'
                      ? 'never reported'
                      : a.status) +
                    // a full disk at the school: the agent says so in its reports
                    (a.spool.failingSince ? `, SPOOL CANNOT WRITE since ${a.spool.failingSince}` : ''),
                  a.lastSeenAt ?? 'never',
                  a.enrolledAt,
                ]),
              )}\n`,
        );
      });
    });

  dataFlags(
    agent
      .command('revoke')
      .description(
        'revoke an agent: its token is refused (401) from its next request, by every collector of the state store',
      ),
  )
    .argument('<id>', 'agent id (agent list)')
    .action(async (id: string, o: CommonOpts) => {
      await withState(o, async (state) => {
        const before = await state.getAgent(id);
        if (!before) throw new UsageError(`unknown agent ${JSON.stringify(id)} (see agent list)`);
        if (before.revokedAt !== null) {
          process.stdout.write(`agent ${id} was revoked already, at ${before.revokedAt}\n`);
          return;
        }
        const after = (await state.revokeAgent(id, new Date()))!;
        await auditCli(state, 'agent.revoke', id, `school ${after.schoolId}`);
        process.stdout.write(
          `agent ${id} (${after.name ?? after.hostname}, school ${after.schoolId}) revoked at ${after.revokedAt}: ` +
            'its next report is refused; to replace the box, enrol it again with a new code (enroll-code)\n',
        );
      });
    });

  dataFlags(agent.command('rename').description('name an agent, e.g. 东校区机房 ("" removes the name)'))
    .argument('<id>', 'agent id (agent list)')
    .argument('<name>', 'the new name')
    .action(async (id: string, name: string, o: CommonOpts) => {
      const problem = name === '' ? undefined : agentNameProblem(name);
      if (problem) throw new UsageError(`<name>: ${problem} (at most 100 characters)`);
      await withState(o, async (state) => {
        const before = await state.getAgent(id);
        if (!before) throw new UsageError(`unknown agent ${JSON.stringify(id)} (see agent list)`);
        const after = (await state.renameAgent(id, name === '' ? null : name))!;
        await auditCli(
          state,
          'agent.rename',
          id,
          `${before.name ?? '(no name)'} -> ${after.name ?? '(no name)'}`,
        );
        process.stdout.write(
          after.name === null ? `agent ${id} has no name now\n` : `agent ${id} is now named ${after.name}\n`,
        );
      });
    });

  dataFlags(school.command('list').description('list schools (active ones; --all: archived ones too)'))
    .option('--district <district>', 'only this district')
    .option('--all', 'also the archived schools')
    .option('--json', 'print JSON')
    .action(async (o: CommonOpts & { district?: string; all?: boolean; json?: boolean }) => {
      const config = configOf(o);
      const targets = loadTargets(config.targetsFile ?? DEFAULT_TARGETS_FILE);
      await withState(o, async (state) => {
        const now = new Date();
        const [schools, agents] = await Promise.all([
          state.listSchools({ includeArchived: o.all === true }),
          state.listAgents(),
        ]);
        const rows = schools
          .filter((s) => o.district === undefined || s.district === o.district)
          .map((s) => {
            const own = agents.filter((a) => a.schoolId === s.id);
            const views = own.map((a) => agentView(a, now, config.alerts.agentSilentS));
            return {
              ...s,
              tier: tierOf(s, targets),
              agents: own.length,
              agentsNeverReported: views.filter((v) => v.status === 'never_reported').length,
              agentsSilent: views.filter((v) => v.status === 'silent').length,
              lastSeenAt:
                own
                  .map((a) => a.lastSeenAt)
                  .filter((t): t is string => t !== null)
                  .sort()
                  .at(-1) ?? null,
            };
          });
        if (o.json) {
          process.stdout.write(`${JSON.stringify({ schools: rows }, null, 2)}\n`);
          return;
        }
        process.stdout.write(
          rows.length === 0
            ? 'no schools\n'
            : `${formatTable(
                ['id', 'name', 'district', 'group', 'tier', 'agents', 'last report', 'state'],
                rows.map((s) => [
                  s.id,
                  s.name,
                  s.district ?? '-',
                  s.group ?? '-',
                  s.tier,
                  agentsText(s),
                  s.lastSeenAt ?? 'never',
                  s.archivedAt ? `archived ${s.archivedAt}` : 'active',
                ]),
              )}\n`,
        );
      });
    });

  const update = dataFlags(
    school
      .command('update')
      .description('describe a school again: the fields given change ("" removes an optional one)'),
  ).argument('<id>', 'school id');
  for (const [flag, help] of Object.values(UPDATE_FLAGS)) update.option(flag, help);
  update.action(async (id: string, o: CommonOpts & Partial<Record<keyof SchoolPatch, string>>) => {
    const patch: Record<string, unknown> = {};
    for (const field of Object.keys(UPDATE_FLAGS) as (keyof SchoolPatch)[]) {
      const v = o[field];
      if (v === undefined) continue;
      if (v === '') {
        if (field === 'name' || field === 'timezone')
          throw new UsageError(`${flagOf(field)}: a school always has one; it cannot be removed`);
        patch[field] = null;
      } else if (field === 'pupils' || field === 'protectionLevel') {
        if (!/^\d+$/.test(v)) throw new UsageError(`${flagOf(field)}: must be a whole number`);
        patch[field] = Number(v);
      } else patch[field] = v;
    }
    if (typeof patch.tier === 'string' && typeof patch.pupils === 'number')
      checkTierAgreesWithPupils(configOf(o), patch.tier, patch.pupils);
    if (Object.keys(patch).length === 0)
      throw new UsageError(
        `give at least one of ${Object.values(UPDATE_FLAGS)
          .map(([f]) => f.split(' ')[0])
          .join(', ')}`,
      );
    await withState(o, async (state) => {
      const before = await state.getSchool(id);
      if (!before) throw new UsageError(`unknown school ${JSON.stringify(id)}`);
      const patched = patchedSchool(before, patch as SchoolPatch);
      if (!patched.ok)
        throw new UsageError(patched.problems.map((p) => `${flagOf(p.path)}: ${p.message}`).join('\n'));
      if (patched.changed.length === 0) {
        process.stdout.write(`school ${id} unchanged\n`);
        return;
      }
      await state.upsertSchool(patched.school);
      await auditCli(state, 'school.update', id, patched.changed.join(', '));
      process.stdout.write(`school ${id} (${patched.school.name}) updated: ${patched.changed.join(', ')}\n`);
    });
  });

  dataFlags(
    school
      .command('archive')
      .description(
        'archive a school: its history is kept, it leaves the KPIs and alerts, its agents are revoked',
      ),
  )
    .argument('<id>', 'school id')
    .action(async (id: string, o: CommonOpts) => {
      await withState(o, async (state) => {
        const before = await state.getSchool(id);
        if (!before) throw new UsageError(`unknown school ${JSON.stringify(id)}`);
        if (before.archivedAt) {
          process.stdout.write(`school ${id} was archived already, at ${before.archivedAt}\n`);
          return;
        }
        const out = (await state.archiveSchool(id, new Date()))!;
        await auditCli(
          state,
          'school.archive',
          id,
          out.revoked.length > 0 ? `agents revoked: ${out.revoked.join(', ')}` : 'no active agents',
        );
        process.stdout.write(
          `school ${id} (${before.name}) archived at ${out.school.archivedAt}: ` +
            `${out.revoked.length} agent${out.revoked.length === 1 ? '' : 's'} revoked${out.revoked.length > 0 ? ` (${out.revoked.join(', ')})` : ''}; ` +
            'its history is kept; it no longer counts in the KPIs and alerts\n',
        );
      });
    });
}
