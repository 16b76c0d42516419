/**
 * `campuswatch-collector maintenance add|list|end`: planned work on a school, a room or a device, once or
 * weekly; devices in a window count neither for nor against availability and raise no outage alert.
 */
import type { Command } from 'commander';
import { formatTable, UsageError } from '../../protocol/cli.js';
import { type CommonOpts, dataFlags, requireData, type WithState } from './cli-common.js';
import {
  activeAt,
  checkWindow,
  parseWeekly,
  scopeText,
  type WeeklyRecurrence,
  type WindowField,
  weeklyText,
} from './evaluate/maintenance.js';

/** The flag a checked field of a window comes from. */
const WINDOW_FLAGS: Record<WindowField, string> = {
  startsAt: '--from',
  endsAt: '--to',
  weekly: '--weekly',
  reason: '--reason',
};

export function addMaintenanceCommands(program: Command, withState: WithState): void {
  const maintenance = program
    .command('maintenance')
    .description(
      'planned work: devices in a window count neither for nor against availability, raise no outage alert',
    );
  dataFlags(
    maintenance
      .command('add')
      .description('add a maintenance window for a school, a room or a device: once, or weekly'),
    'for its data directory',
  )
    .requiredOption('--school <id>', 'school id')
    .option('--room <room>', 'only this room (all its devices)')
    .option('--device <device>', 'only this device')
    .option('--from <iso>', 'start, with its zone, e.g. 2026-11-23T08:00+08:00 (default: now)')
    .option('--to <iso>', 'end, with its zone (a weekly window without one runs until ended)')
    .option(
      '--weekly <when>',
      'recurring, school-local: "sun 02:00-04:00", "mon-fri 12:00-13:00", "sat 23:00-01:00"',
    )
    .requiredOption('--reason <text>', 'why (shown wherever the device is)')
    .option('--by <name>', 'who', process.env.USER ?? 'cli')
    .action(
      async (
        opts: CommonOpts & {
          school: string;
          room?: string;
          device?: string;
          from?: string;
          to?: string;
          weekly?: string;
          reason: string;
          by: string;
        },
      ) => {
        requireData(opts);
        let weekly: WeeklyRecurrence | undefined;
        if (opts.weekly !== undefined) {
          const parsed = parseWeekly(opts.weekly);
          if ('error' in parsed) throw new UsageError(`--weekly: ${parsed.error}`);
          weekly = parsed;
        }
        for (const flag of ['room', 'device'] as const)
          if (opts[flag] !== undefined && opts[flag].trim() === '')
            throw new UsageError(`--${flag}: must not be empty`);
        const now = new Date();
        const checked = checkWindow(
          { startsAt: opts.from, endsAt: opts.to, weekly, reason: opts.reason },
          now,
        );
        if (!checked.ok)
          throw new UsageError(
            checked.problems.map((p) => `${WINDOW_FLAGS[p.field]}: ${p.message}`).join('\n'),
          );
        await withState(opts, async (state) => {
          const school = await state.getSchool(opts.school);
          if (!school)
            throw new UsageError(
              `--school: unknown school ${JSON.stringify(opts.school)}; add it first with 'campuswatch-collector school add'`,
            );
          const w = await state.addMaintenance({
            schoolId: school.id,
            ...(opts.room !== undefined ? { room: opts.room } : {}),
            ...(opts.device !== undefined ? { device: opts.device } : {}),
            reason: checked.reason,
            startsAt: checked.startsAt,
            endsAt: checked.endsAt,
            ...(checked.weekly ? { weekly: checked.weekly } : {}),
            createdBy: opts.by,
            createdAt: now.toISOString(),
          });
          process.stdout.write(
            `maintenance window ${w.id} for ${scopeText(w)} of ${school.id}: ${
              w.weekly ? `${weeklyText(w.weekly)} (${school.timezone}) from ${w.startsAt}` : w.startsAt
            } until ${w.endsAt ?? 'ended'}${activeAt(w, now, school.timezone) ? ' (on now)' : ''}\n`,
          );
        });
      },
    );
  dataFlags(
    maintenance
      .command('list')
      .description('list maintenance windows that have not ended (running or to come)'),
    'for its data directory',
  )
    .option('--school <id>', 'one school')
    .option('--all', 'also the ones that have ended')
    .action(async (opts: CommonOpts & { school?: string; all?: boolean }) => {
      await withState(opts, async (state) => {
        const now = new Date();
        const [rows, schools] = await Promise.all([
          state.maintenanceWindows({
            ...(opts.school !== undefined ? { schoolId: opts.school } : {}),
            ...(opts.all ? {} : { endingAfter: now }),
          }),
          state.listSchools({ includeArchived: true }),
        ]);
        const zone = new Map(schools.map((s) => [s.id, s.timezone]));
        process.stdout.write(
          `${
            rows.length === 0
              ? 'no maintenance windows'
              : formatTable(
                  ['id', 'school', 'covers', 'when', 'from', 'until', 'now', 'by', 'reason'],
                  rows.map((w) => [
                    String(w.id),
                    w.schoolId,
                    scopeText(w),
                    w.weekly ? `weekly ${weeklyText(w.weekly)}` : 'once',
                    w.startsAt,
                    w.endsAt ?? '-',
                    activeAt(w, now, zone.get(w.schoolId) ?? 'Asia/Shanghai') ? 'on' : '',
                    w.createdBy,
                    w.reason,
                  ]),
                )
          }\n`,
        );
      });
    });
  dataFlags(
    maintenance.command('end').description('end a maintenance window now (one to come is called off)'),
    'for its data directory',
  )
    .requiredOption('--id <n>', 'window id (maintenance list)')
    .action(async (opts: CommonOpts & { id: string }) => {
      if (!/^\d+$/.test(opts.id)) throw new UsageError('--id must be a whole number (see maintenance list)');
      await withState(opts, async (state) => {
        if (!(await state.endMaintenance(Number(opts.id), new Date())))
          throw new UsageError(`--id: no maintenance window ${opts.id} that has not ended`);
        process.stdout.write(`maintenance window ${opts.id} ended\n`);
      });
    });
}
