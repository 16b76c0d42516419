/**
 * At term end, by the collector itself (issue 26 items 2 and 4): after a term's last day it takes each
 * district's snapshot, then mails the report to the configured recipients — each once, whichever of
 * several collectors sharing the state store gets there first (the snapshot's primary key, the mail's
 * claim row). Run on the compliance refresh's clock (server.ts).
 *
 * A mail is claimed before it is sent, so it goes at most once: a send that fails is logged (with the
 * command that makes the same report by hand) and not retried.
 */
import { hostname } from 'node:os';
import { createTransport } from 'nodemailer';
import type { Logger } from 'pino';
import type { School } from '../../../protocol/school.js';
import { CITY, type Scope } from '../access/model.js';
import type { BaselineConfig } from '../baseline.js';
import type { CollectorConfig } from '../config.js';
import type { ChannelConfig } from '../notifiers/config.js';
import { smtpOptions } from '../notifiers/email.js';
import type { StateStore } from '../store/state.js';
import { type TargetsConfig, termsOf } from '../targets.js';
import { titleOf } from './labels.js';
import { renderTermReport, termReport } from './report.js';
import { snapshotKey, takeTermSnapshots, termsDue, todayIn } from './snapshot.js';

export interface TermEndContext {
  state: StateStore;
  targets: TargetsConfig;
  baseline: BaselineConfig;
  config: Pick<CollectorConfig, 'reports' | 'alerts'>;
  log: Logger;
}

/** What this collector knows is done already (so that a quiet minute asks the store nothing). */
export interface TermEndMemo {
  snapshots: Set<string>;
  mails: Set<string>;
}

export const newTermEndMemo = (): TermEndMemo => ({ snapshots: new Set(), mails: new Set() });

const DAY_MS = 86_400_000;

type EmailChannel = Extract<ChannelConfig, { type: 'email' }>;

/** Takes the snapshots due and sends the mails due at `now`. Returns what this collector did. */
export async function termEnd(
  ctx: TermEndContext,
  now: Date,
  memo: TermEndMemo,
): Promise<{ snapshots: string[]; mails: string[] }> {
  const done = { snapshots: [] as string[], mails: [] as string[] };
  const { snapshotAtTermEnd, snapshotGraceDays, termMail } = ctx.config.reports;
  if (snapshotAtTermEnd) {
    const due = await termsDue(ctx, now, snapshotGraceDays, memo.snapshots);
    if (due.length > 0) {
      // the store says which exist (another collector's, or one taken by hand)
      for (const h of await ctx.state.snapshots.listSnapshots())
        memo.snapshots.add(snapshotKey(h.term, h.district));
      const stands = (d: { term: string; district: string | null }) =>
        ctx.log.info(d, 'term snapshot stands (taken before: by another collector or by hand)');
      for (const d of due) {
        const key = snapshotKey(d.term, d.district);
        if (memo.snapshots.has(key)) {
          stands(d);
          continue;
        }
        const [outcome] = await takeTermSnapshots(ctx, d.term, {
          district: d.district,
          now,
          takenBy: `collector:${hostname()}`,
          trigger: 'term-end',
        });
        if (outcome && outcome.status !== 'not-ended') {
          memo.snapshots.add(key);
          if (outcome.status === 'stored') {
            done.snapshots.push(key);
            ctx.log.info(
              { term: d.term, district: d.district, schools: outcome.snapshot.schools.length },
              'term snapshot taken',
            );
          } else stands(d);
        }
      }
    }
  }
  const schools = termMail.length > 0 ? await ctx.state.listSchools() : [];
  for (const [i, m] of termMail.entries()) {
    // the channels were checked and filled in when the config was loaded (config.ts)
    const channel = (ctx.config.alerts.channels as ChannelConfig[]).find(
      (c): c is EmailChannel => c.type === 'email' && c.name === m.channel,
    );
    if (!channel) continue;
    for (const term of mailTerms(ctx, schools, m.district ?? null, now, snapshotGraceDays)) {
      const mailKey = `${term.name}\u0000${m.channel}|${m.district ?? '(city)'}|${i}`;
      if (memo.mails.has(mailKey)) continue;
      // the report waits for every district it covers (their terms may end on different days)
      const heads = await ctx.state.snapshots.listSnapshots();
      const have = new Set(heads.filter((h) => h.term === term.name).map((h) => h.district));
      const need =
        m.district !== undefined
          ? [m.district]
          : [...new Set(schools.map((s) => s.district ?? null))].filter((d) =>
              termsOf(ctx.targets, d).some((t) => t.name === term.name),
            );
      if (need.length === 0 || need.some((d) => !have.has(d))) continue;
      const key = `${m.channel}|${m.district ?? '(city)'}|${i}`;
      if (!(await ctx.state.snapshots.claimTermMail(term.name, key, now))) {
        memo.mails.add(mailKey);
        ctx.log.info(
          { term: term.name, district: m.district, channel: m.channel },
          'term report mail claimed before (by another collector): not sent again',
        );
        continue;
      }
      memo.mails.add(mailKey);
      const scope: Scope = m.district === undefined ? CITY : { level: 'district', district: m.district };
      try {
        const previous =
          term.previous && heads.some((h) => h.term === term.previous) ? term.previous : undefined;
        const report = await termReport(ctx.state, { term: term.name, compare: previous, scope, now });
        const attachments = [];
        for (const format of m.formats) {
          const r = await renderTermReport(report, format, m.lang);
          attachments.push({ filename: r.fileName, content: r.body, contentType: r.contentType });
        }
        await sendMail(
          channel,
          m.to ?? channel.to,
          titleOf(report, m.lang),
          mailText(report, m.lang),
          attachments,
        );
        done.mails.push(key);
        ctx.log.info({ term: term.name, district: m.district, channel: m.channel }, 'term report mailed');
      } catch (err) {
        ctx.log.error(
          {
            err: (err as Error).message,
            term: term.name,
            district: m.district,
            channel: m.channel,
            byHand: `campuswatch-collector report --term ${term.name}${m.district ? ` --district ${m.district}` : ''} --format pdf --output FILE`,
          },
          'term report mail failed (claimed: it is not sent again)',
        );
      }
    }
  }
  return done;
}

/** Terms of a mail's district (the city's: any district's) that ended within the grace days, with the term before. */
function mailTerms(
  ctx: Pick<TermEndContext, 'targets'>,
  schools: readonly School[],
  district: string | null,
  now: Date,
  graceDays: number,
): { name: string; previous: string | undefined }[] {
  const calendars = district !== null ? [district] : [null, ...Object.keys(ctx.targets.districts)];
  const out = new Map<string, string | undefined>();
  for (const d of calendars) {
    // the term ends at midnight where the district's schools are, as the snapshot does (not at midnight UTC,
    // which in Beijing is 08:00 the next morning)
    const today = todayIn(schools, d, now);
    const oldest = new Date(Date.parse(`${today}T00:00:00Z`) - graceDays * DAY_MS).toISOString().slice(0, 10);
    const terms = termsOf(ctx.targets, d);
    terms.forEach((t, i) => {
      if (t.to < today && t.to >= oldest && !out.has(t.name)) out.set(t.name, terms[i - 1]?.name);
    });
  }
  return [...out.entries()].map(([name, previous]) => ({ name, previous }));
}

function mailText(report: Awaited<ReturnType<typeof termReport>>, lang: 'zh' | 'en'): string {
  const s = report.summaries[0]!;
  const lines = s.kpis.map((k) => {
    const label = report.targets.find((t) => t.name === k.target)?.label[lang] ?? k.target;
    const change = k.changePts === null ? '' : ` (${k.changePts > 0 ? '+' : ''}${k.changePts})`;
    return `- ${label}: ${k.pct ?? '-'}%${change}`;
  });
  return lang === 'zh'
    ? `${titleOf(report, 'zh')}\n\n学校 ${s.schools} 所；各指标达标率（与对比学期相比，百分点）：\n${lines.join('\n')}\n\n详见附件。`
    : `${titleOf(report, 'en')}\n\n${s.schools} schools; met % per target (change since the compared term, in points):\n${lines.join('\n')}\n\nThe report is attached.`;
}

async function sendMail(
  o: EmailChannel,
  to: readonly string[],
  subject: string,
  text: string,
  attachments: { filename: string; content: Buffer; contentType: string }[],
): Promise<void> {
  // attachments take longer to send than an alert
  const transport = createTransport(smtpOptions(o, o.timeoutMs * 6));
  try {
    const info = await transport.sendMail({ from: o.from, to: [...to], subject, text, attachments });
    if (info.rejected.length > 0 && info.accepted.length === 0)
      throw new Error(`email "${o.name}" (${o.host}:${o.port}): all recipients rejected`);
  } finally {
    transport.close();
  }
}
