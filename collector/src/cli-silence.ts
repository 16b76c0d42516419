/**
 * `campuswatch-collector silence add|list|expire`: mute the notifications of a school, a rule or one alert
 * for a while (the alerts themselves go on).
 */
import type { Command } from 'commander';
import { formatTable, UsageError } from '../../protocol/cli.js';
import { suggest } from '../../protocol/vocabulary.js';
import { ALERT_RULE_TEXT, ALERT_RULES, isAlertRule } from './alerts/rules.js';
import { type CommonOpts, dataFlags, requireData, type WithState } from './cli-common.js';
import { parseDuration } from './routes/alerts.js';

export function addSilenceCommands(program: Command, withState: WithState): void {
  const silence = program
    .command('silence')
    .description('mute alert notifications (the alerts themselves go on)');
  dataFlags(
    silence.command('add').description('add a silence for a school, a rule or one alert'),
    'for its data directory',
  )
    .option('--school <id>', 'school id')
    .option('--rule <rule>', `alert rule: ${ALERT_RULES.join(', ')}`)
    .option('--fingerprint <fp>', 'one alert (see GET /api/v1/alerts)')
    .requiredOption('--for <duration>', 'how long: 90m, 2h, 7d (at most 90d)')
    .requiredOption('--reason <text>', 'why (shown to colleagues)')
    .option('--by <name>', 'who', process.env.USER ?? 'cli')
    .action(
      async (
        opts: CommonOpts & {
          school?: string;
          rule?: string;
          fingerprint?: string;
          for: string;
          reason: string;
          by: string;
        },
      ) => {
        requireData(opts);
        if (!opts.school && !opts.rule && !opts.fingerprint)
          throw new UsageError('give at least one of --school, --rule, --fingerprint');
        if (opts.rule !== undefined && !isAlertRule(opts.rule)) {
          // a silence of a rule that does not exist would mute nothing, silently: refuse it
          const meant = suggest(opts.rule, ALERT_RULES);
          throw new UsageError(
            `--rule: unknown alert rule ${JSON.stringify(opts.rule)}; one of ${ALERT_RULES.join(', ')}${
              meant === undefined ? '' : ` (did you mean ${JSON.stringify(meant)}?)`
            }\n${formatTable(
              ['rule', 'alerts on'],
              ALERT_RULES.map((r) => [r, ALERT_RULE_TEXT[r].en]),
            )}`,
          );
        }
        const ms = parseDuration(opts.for);
        if (ms === undefined || ms > 90 * 86_400_000)
          throw new UsageError('--for must look like 90m, 2h or 7d (at most 90d)');
        if (opts.reason.trim().length < 3)
          throw new UsageError('--reason must say why (at least 3 characters)');
        await withState(opts, async (state) => {
          if (opts.school && !(await state.getSchool(opts.school)))
            throw new UsageError(`unknown school ${JSON.stringify(opts.school)}`);
          const now = new Date();
          const s = await state.addSilence({
            schoolId: opts.school ?? null,
            rule: opts.rule ?? null,
            fingerprint: opts.fingerprint ?? null,
            startsAt: now.toISOString(),
            endsAt: new Date(now.getTime() + ms).toISOString(),
            reason: opts.reason,
            createdBy: opts.by,
          });
          process.stdout.write(`silence ${s.id} until ${s.endsAt}\n`);
        });
      },
    );
  dataFlags(silence.command('list').description('list active silences'), 'for its data directory')
    .option('--all', 'also expired ones')
    .action(async (opts: CommonOpts & { all?: boolean }) => {
      await withState(opts, async (state) => {
        const rows = await state.silences(opts.all ? undefined : new Date());
        process.stdout.write(
          `${
            rows.length === 0
              ? 'no silences'
              : formatTable(
                  ['id', 'school', 'rule', 'until', 'by', 'reason'],
                  rows.map((s) => [
                    String(s.id),
                    s.schoolId ?? '*',
                    s.rule ?? '*',
                    s.endsAt,
                    s.createdBy,
                    s.reason,
                  ]),
                )
          }\n`,
        );
      });
    });
  dataFlags(silence.command('expire').description('end a silence now'), 'for its data directory')
    .requiredOption('--id <n>', 'silence id')
    .action(async (opts: CommonOpts & { id: string }) => {
      await withState(opts, async (state) => {
        if (!(await state.expireSilence(Number(opts.id), new Date())))
          throw new UsageError(`no active silence ${opts.id}`);
        process.stdout.write(`silence ${opts.id} expired\n`);
      });
    });
}
