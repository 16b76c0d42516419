#!/usr/bin/env node
import { EXIT_USAGE, newProgram, runProgram, UsageError } from '../../protocol/cli.js';
import { addLogFormatOption, logDestination, logFormatOf } from '../../protocol/log-format.js';
import { School } from '../../protocol/school.js';
import { checker, formatProblem } from '../../protocol/validate.js';
import { PACKAGE_VERSION } from '../../protocol/version.js';
import { addAccessCommands } from './cli-access.js';
import {
  auditCli,
  type CommonOpts,
  checkTierAgreesWithPupils,
  requireData,
  resolveConfig,
} from './cli-common.js';
import { addFleetCommands } from './cli-fleet.js';
import { addGrafanaCommands } from './cli-grafana.js';
import { addMaintenanceCommands } from './cli-maintenance.js';
import { addSilenceCommands } from './cli-silence.js';
import { addTermReportCommands, termReportCli } from './cli-term-report.js';
import { complianceReport, renderComplianceReport } from './compliance-report.js';
import { checkStateInDataDir } from './data-dir.js';
import { createCollectorLogger, startCollector } from './server.js';
import { openStateStore, type StateStore } from './store/state.js';
import { DEFAULT_TARGETS_FILE, loadTargets } from './targets.js';
import { addTlsCommands } from './tls-init.js';

/** The configured state store (SQLite in --data, or the config's PostgreSQL), closed after `use`. */
async function withState<T>(opts: CommonOpts, use: (state: StateStore) => Promise<T>): Promise<T> {
  requireData(opts);
  const config = resolveConfig(opts);
  const mayCreate = opts.init === true || program.opts<{ init?: boolean }>().init === true;
  if (checkStateInDataDir(config, mayCreate).created)
    process.stderr.write(`created a new campuswatch state in ${config.dataDir}\n`);
  const state = await openStateStore(config);
  try {
    return await use(state);
  } finally {
    await state.close();
  }
}

const program = newProgram(
  'campuswatch-collector',
  'Central collector: receives agent reports, checks schools against the targets, stores series in InfluxDB.',
  PACKAGE_VERSION,
);
addLogFormatOption(program);
program.option(
  '--init',
  'create a new state in --data DIR when it holds none (run and school add do so without it)',
);

program
  .command('run')
  .description('run the collector (HTTP API for agents, compliance API)')
  .option('--config <file>', 'collector YAML config')
  .option('--listen <host:port>', 'listen address, e.g. 127.0.0.1:8080 (port 0 picks a free port)')
  .option('--data <dir>', 'state directory (SQLite)')
  .option(
    '--influx-url <url>',
    'InfluxDB 1.x URL, e.g. http://127.0.0.1:8086; omit to run on the embedded default',
  )
  .action(async (opts: CommonOpts & { listen?: string; influxUrl?: string }) => {
    const config = resolveConfig(opts);
    const log = createCollectorLogger(undefined, await logDestination(logFormatOf(program, 1), 1));
    const running = await startCollector(config, { log, handleSignals: true });
    process.stdout.write(`campuswatch collector listening on ${running.url} (API ${running.url}/api/v1)\n`);
    await new Promise<never>(() => undefined);
  });

addAccessCommands(program, withState);
addTlsCommands(program);
addGrafanaCommands(program, withState);

const school = program.command('school').description('manage the school registry');
school
  .command('add')
  .description('add or update a school')
  .option('--config <file>', 'collector YAML config (for its data directory)')
  .option('--data <dir>', 'state directory')
  .requiredOption('--id <id>', 'school id (letters, digits, . _ -)')
  .requiredOption('--name <name>', 'school name, e.g. 苏州工业园区星海实验中学')
  .option('--district <district>', 'district (区/县)')
  .option('--group <group>', 'education group (教育集团)')
  .option('--tier <tier>', 'size tier: small|medium|large')
  .option('--pupils <n>', 'pupil count (sets the tier when --tier is absent)')
  .option('--area <area>', 'urban|rural')
  .option('--stage <stage>', '学段: primary|junior|senior|nine-year|twelve-year (for rooms per 100 pupils)')
  .option(
    '--protection-level <n>',
    '等级保护级别 (GB/T 22239-2019): 2 or 3; findings cite the clauses of this level (default: config/baseline.yaml defaultProtectionLevel)',
  )
  .option('--timezone <tz>', 'IANA time zone', 'Asia/Shanghai')
  .action(
    async (
      opts: CommonOpts & {
        id: string;
        name: string;
        district?: string;
        group?: string;
        tier?: string;
        pupils?: string;
        area?: string;
        stage?: string;
        protectionLevel?: string;
        timezone: string;
      },
    ) => {
      requireData(opts);
      const candidate: Record<string, unknown> = { id: opts.id, name: opts.name, timezone: opts.timezone };
      for (const k of ['district', 'group', 'tier', 'area', 'stage'] as const)
        if (opts[k] !== undefined) candidate[k] = opts[k];
      if (opts.pupils !== undefined) {
        if (!/^\d+$/.test(opts.pupils)) throw new UsageError('--pupils must be a whole number');
        candidate.pupils = Number(opts.pupils);
      }
      if (opts.tier !== undefined && opts.pupils !== undefined)
        checkTierAgreesWithPupils(resolveConfig(opts), opts.tier, Number(opts.pupils));
      if (opts.protectionLevel !== undefined) {
        if (!/^\d+$/.test(opts.protectionLevel))
          throw new UsageError('--protection-level must be a whole number: 2 or 3');
        candidate.protectionLevel = Number(opts.protectionLevel);
      }
      const check = checker<School>(School);
      if (!check.check(candidate)) {
        throw new UsageError(
          check
            .problems(candidate)
            // the field's flag: protectionLevel → --protection-level
            .map(
              (p) =>
                `--${formatProblem({ ...p, path: p.path.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`) })}`,
            )
            .join('\n'),
        );
      }
      // the README starts a collector's registry with school add: it may create the state
      await withState({ ...opts, init: true }, (state) => state.upsertSchool(candidate));
      process.stdout.write(`school ${candidate.id} (${candidate.name}) saved\n`);
    },
  );
addFleetCommands(program, withState, school, resolveConfig);
addTermReportCommands(program, withState, resolveConfig);

program
  .command('enroll-code')
  .description('print a one-time enrolment code for an agent of a school')
  .option('--config <file>', 'collector YAML config (for its data directory)')
  .option('--data <dir>', 'state directory')
  .requiredOption('--school <id>', 'school id')
  .option('--ttl-hours <h>', 'validity in hours', '24')
  .action(async (opts: CommonOpts & { school: string; ttlHours: string }) => {
    requireData(opts);
    const ttl = Number(opts.ttlHours);
    if (!Number.isFinite(ttl) || ttl <= 0 || ttl > 720)
      throw new UsageError(
        '--ttl-hours must be a number of hours above 0 and at most 720 (30 days), e.g. 24 or 0.5',
      );
    await withState(opts, async (state) => {
      const known = await state.getSchool(opts.school);
      if (!known) {
        throw new UsageError(
          `unknown school ${JSON.stringify(opts.school)}; add it first with 'campuswatch-collector school add'`,
        );
      }
      if (known.archivedAt)
        throw new UsageError(
          `school ${opts.school} was archived at ${known.archivedAt}: it takes no new agents`,
        );
      const { code, expiresAt } = await state.createEnrollCode(opts.school, ttl * 3_600_000);
      process.stdout.write(`${code}\n`);
      process.stderr.write(
        `one-time code for school ${opts.school}, valid until ${expiresAt.toISOString()}\n`,
      );
    });
  });

program
  .command('report')
  .description(
    'print the compliance table per school; with --term, the term inspection report (督导通报) of its snapshots',
  )
  .option('--config <file>', 'collector YAML config (for its data directory and targets)')
  .option('--data <dir>', 'state directory')
  .option('--district <district>', 'only this district')
  .option('--format <format>', 'table|json|csv; with --term xlsx|pdf|csv|json')
  .option('--term <name>', 'the term report of this term (snapshot take first), e.g. 2026-2027学年第二学期')
  .option('--compare <name>', 'with --term: the term to compare with, e.g. 2026-2027学年第一学期')
  .option('--group <group>', 'with --term: only this education group')
  .option('--lang <lang>', 'with --term: zh|en (default zh)')
  .option('--output <file>', 'with --term: write the report to this file (required for xlsx and pdf)')
  .action(
    async (opts: CommonOpts & { district?: string; format?: string; term?: string; output?: string }) => {
      if (opts.term !== undefined) {
        requireData(opts);
        return termReportCli({ ...opts, term: opts.term, format: opts.format ?? 'xlsx' }, withState);
      }
      for (const flag of ['compare', 'group', 'lang', 'output'] as const)
        if ((opts as Record<string, unknown>)[flag] !== undefined)
          throw new UsageError(`--${flag} needs --term (the term report)`);
      const format = opts.format ?? 'table';
      if (!['table', 'json', 'csv'].includes(format))
        throw new UsageError('--format must be one of: table, json, csv');
      requireData(opts);
      const config = resolveConfig(opts);
      const targets = loadTargets(config.targetsFile ?? DEFAULT_TARGETS_FILE);
      await withState(opts, async (state) => {
        const rows = await complianceReport(state, targets, opts.district ? { district: opts.district } : {});
        process.stdout.write(`${renderComplianceReport(rows, format as 'table' | 'json' | 'csv')}\n`);
        await auditCli(
          state,
          'report.export',
          format,
          `${rows.length} schools${opts.district ? ` of ${opts.district}` : ''}`,
        );
      });
    },
  );

addSilenceCommands(program, withState);
addMaintenanceCommands(program, withState);

if (process.argv.length <= 2) {
  program.outputHelp();
  process.exit(EXIT_USAGE);
}
await runProgram(program);
