/**
 * `campuswatch-collector snapshot take|list` and `report --term …` (the term inspection report, 督导通报):
 * on the configured state store, with the configured targets (their term calendar) and baseline.
 * Taking a snapshot and exporting a report are audited as `cli:<os user>`.
 */
import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { formatTable, UsageError } from '../../protocol/cli.js';
import { CITY } from './access/model.js';
import { DEFAULT_BASELINE_FILE, loadBaseline } from './baseline.js';
import {
  auditCli,
  type CommonOpts,
  type ConfigOf,
  cliActor,
  dataFlags as stateFlags,
  type WithState,
} from './cli-common.js';
import { DEFAULT_TARGETS_FILE, loadTargets } from './targets.js';
import type { Lang } from './term-report/labels.js';
import { NoSnapshotError } from './term-report/model.js';
import {
  REPORT_FORMATS,
  REPORT_LANGS,
  type ReportFormat,
  renderTermReport,
  termReport,
} from './term-report/report.js';
import { takeTermSnapshots, UnknownTermError } from './term-report/snapshot.js';

const dataFlags = (c: Command) => stateFlags(c, 'data directory or PostgreSQL state, targets, baseline');

export interface TermReportOpts extends CommonOpts {
  term: string;
  compare?: string;
  district?: string;
  group?: string;
  format: string;
  lang?: string;
  output?: string;
}

/** `report --term NAME …`: the term report of the snapshots, to --output (or stdout for csv and json). */
export async function termReportCli(opts: TermReportOpts, withState: WithState): Promise<void> {
  if (!(REPORT_FORMATS as readonly string[]).includes(opts.format))
    throw new UsageError(`--format: with --term one of ${REPORT_FORMATS.join(', ')}`);
  const lang = opts.lang ?? 'zh';
  if (!(REPORT_LANGS as readonly string[]).includes(lang))
    throw new UsageError(`--lang: one of ${REPORT_LANGS.join(', ')}`);
  const format = opts.format as ReportFormat;
  if ((format === 'xlsx' || format === 'pdf') && opts.output === undefined)
    throw new UsageError(`--output FILE is required for --format ${format}`);
  await withState(opts, async (state) => {
    let rendered: Awaited<ReturnType<typeof renderTermReport>>;
    try {
      const report = await termReport(state, {
        term: opts.term,
        compare: opts.compare,
        scope: CITY,
        filter: {
          ...(opts.district !== undefined ? { district: opts.district } : {}),
          ...(opts.group !== undefined ? { group: opts.group } : {}),
        },
        now: new Date(),
      });
      rendered = await renderTermReport(report, format, lang as Lang);
    } catch (err) {
      if (err instanceof NoSnapshotError) throw new UsageError(`--term: ${err.message}`);
      throw err;
    }
    if (opts.output !== undefined) {
      writeFileSync(opts.output, rendered.body);
      process.stderr.write(`${opts.output}: ${rendered.body.length} bytes (${rendered.fileName})\n`);
    } else process.stdout.write(rendered.body);
    await auditCli(
      state,
      'report.export',
      `${opts.term}${opts.compare ? ` vs ${opts.compare}` : ''}`,
      `${format} ${lang}${opts.district ? `, district ${opts.district}` : ''}${opts.group ? `, group ${opts.group}` : ''}`,
    );
  });
}

export function addTermReportCommands(program: Command, withState: WithState, configOf: ConfigOf): void {
  const snapshot = program
    .command('snapshot')
    .description(
      'term snapshots of the inspection report (督导通报): every school and KPI frozen at term end',
    );

  dataFlags(
    snapshot
      .command('take')
      .description(
        "freeze a term's compliance, KPIs and term figures of every district (once: an existing snapshot stands)",
      ),
  )
    .requiredOption('--term <name>', 'the term, as named in targets.yaml, e.g. 2026-2027学年第一学期')
    .option('--district <district>', 'only this district')
    .action(async (o: CommonOpts & { term: string; district?: string }) => {
      if (!o.data && !o.config) throw new UsageError('--data DIR (or --config FILE) is required');
      const config = configOf(o);
      const targets = loadTargets(config.targetsFile ?? DEFAULT_TARGETS_FILE);
      const baseline = loadBaseline(config.baselineFile ?? DEFAULT_BASELINE_FILE);
      await withState(o, async (state) => {
        let outcomes: Awaited<ReturnType<typeof takeTermSnapshots>>;
        try {
          outcomes = await takeTermSnapshots({ state, targets, baseline }, o.term, {
            ...(o.district !== undefined ? { district: o.district } : {}),
            now: new Date(),
            takenBy: cliActor(),
            trigger: 'on-demand',
          });
        } catch (err) {
          if (err instanceof UnknownTermError) throw new UsageError(`--term: ${err.message}`);
          throw err;
        }
        const lines = outcomes.map((x) => {
          const d = x.district ?? '(no district)';
          if (x.status === 'not-ended')
            return `${d}: not taken: the term ends on ${x.term.to} (today is ${x.today}); a snapshot is taken after its last day`;
          return `${d}: ${x.status === 'stored' ? 'taken' : 'already taken'} at ${x.snapshot.takenAt} by ${x.snapshot.takenBy} (${x.snapshot.schools.length} schools, ${x.term.from} to ${x.term.to})`;
        });
        process.stdout.write(`${lines.join('\n')}\n`);
        const stored = outcomes.filter((x) => x.status === 'stored');
        if (stored.length > 0)
          await auditCli(
            state,
            'snapshot.take',
            o.term,
            stored
              .map(
                (x) =>
                  `${x.district ?? '(no district)'}: ${x.status === 'stored' ? x.snapshot.schools.length : 0} schools`,
              )
              .join('; '),
          );
        if (outcomes.every((x) => x.status === 'not-ended'))
          throw new UsageError(`--term: ${o.term} has not ended yet in any district asked`);
      });
    });

  dataFlags(snapshot.command('list').description('list the term snapshots'))
    .option('--json', 'print JSON')
    .action(async (o: CommonOpts & { json?: boolean }) => {
      await withState(o, async (state) => {
        const heads = await state.snapshots.listSnapshots();
        if (o.json) {
          process.stdout.write(`${JSON.stringify(heads, null, 2)}\n`);
          return;
        }
        process.stdout.write(
          `${
            heads.length === 0
              ? 'no term snapshots'
              : formatTable(
                  ['term', 'district', 'from', 'to', 'schools', 'taken at', 'by', 'how'],
                  heads.map((h) => [
                    h.term,
                    h.district ?? '(none)',
                    h.from,
                    h.to,
                    String(h.schools),
                    h.takenAt,
                    h.takenBy,
                    h.trigger,
                  ]),
                )
          }\n`,
        );
      });
    });
}
