/**
 * Issue 26 acceptance 6: two collector processes on one PostgreSQL at term end — one snapshot per
 * district and one e-mail of the report. The term of the calendar ended yesterday (school-local), so both
 * collectors find it due on their first compliance refresh and race for it: the snapshot's primary key
 * and the mail's claim row decide. Each collector logs what it did (taken / stands, mailed / claimed
 * before): the test waits for both before counting. The mail is read by Python's email package; its PDF
 * attachment by pdftotext.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { localTime } from '../../collector/src/evaluate/teaching-hours.js';
import { PgStateStore } from '../../collector/src/store/pg-state.js';
import { DEFAULT_TARGETS_FILE } from '../../collector/src/targets.js';
import type { School } from '../../protocol/school.js';
import { CollectorProc } from '../helpers/collector-proc.js';
import { type Postgres, postgresAvailable, startPostgres } from '../helpers/postgres.js';
import { skipping } from '../helpers/skip.js';
import { WORLD_ADMIN_TOKEN } from '../helpers/world.js';

const skip = postgresAvailable();
const PYTHON = '/usr/bin/python3';

const SCHOOLS: School[] = [
  {
    id: 'wj-01',
    name: '常州市武进区星河实验小学',
    district: '武进区',
    group: '星河教育集团',
    area: 'urban',
    timezone: 'Asia/Shanghai',
  },
  {
    id: 'wj-02',
    name: '常州市武进区礼河实验学校',
    district: '武进区',
    group: '星河教育集团',
    area: 'rural',
    timezone: 'Asia/Shanghai',
  },
  {
    id: 'xb-01',
    name: '常州市新北区百草园小学',
    district: '新北区',
    area: 'urban',
    timezone: 'Asia/Shanghai',
  },
];

const day = (ms: number) => localTime(new Date(ms), 'Asia/Shanghai').date;
const NOW = Date.now();
/** The term ended yesterday; the one before it ended 100 days ago (outside the 14 days: not taken by itself). */
const TERM = { name: '本学期', from: day(NOW - 60 * 86_400_000), to: day(NOW - 86_400_000) };
const BEFORE = { name: '上学期', from: day(NOW - 200 * 86_400_000), to: day(NOW - 100 * 86_400_000) };

interface Mail {
  raw: Buffer;
  to: string[];
}

describe.skipIf(skipping(skip))(
  `two collectors on one PostgreSQL at term end${skip ? ` (SKIPPED: ${skip})` : ''}`,
  () => {
    let dir: string;
    let pg: Postgres;
    let store: PgStateStore;
    let smtp: SMTPServer;
    const mails: Mail[] = [];
    const collectors: CollectorProc[] = [];

    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), 'cw-term-two-'));
      pg = await startPostgres();
      const url = await pg.createDatabase('campuswatch');
      store = await PgStateStore.open({ url });
      smtp = new SMTPServer({
        authOptional: true,
        disabledCommands: ['STARTTLS'],
        logger: false,
        size: 50 << 20,
        onData(stream, session, callback) {
          const chunks: Buffer[] = [];
          stream.on('data', (c: Buffer) => chunks.push(c));
          stream.on('end', () => {
            mails.push({ raw: Buffer.concat(chunks), to: session.envelope.rcptTo.map((r) => r.address) });
            callback();
          });
        },
      });
      await new Promise<void>((resolve) => smtp.listen(0, '127.0.0.1', () => resolve()));
      const smtpPort = (smtp.server.address() as AddressInfo).port;
      const targets = parse(readFileSync(DEFAULT_TARGETS_FILE, 'utf8')) as Record<
        string,
        Record<string, unknown>
      >;
      (targets.deviceAvailability!.teachingHours as Record<string, unknown>).terms = [BEFORE, TERM];
      const targetsFile = join(dir, 'targets.yaml');
      writeFileSync(targetsFile, stringify(targets));
      for (const name of ['a', 'b']) {
        const file = join(dir, `collector-${name}.yaml`);
        writeFileSync(
          file,
          stringify({
            listen: '127.0.0.1:0',
            adminToken: WORLD_ADMIN_TOKEN,
            dataDir: join(dir, `data-${name}`),
            targetsFile,
            state: { kind: 'postgres', url, poolMax: 4 },
            schools: SCHOOLS,
            compliance: { recheckS: 1, publishS: 10 },
            alerts: {
              channels: [
                {
                  name: '电教馆邮件',
                  type: 'email',
                  host: '127.0.0.1',
                  port: smtpPort,
                  from: 'campuswatch@dj.example.edu.cn',
                  to: ['alerts@dj.example.edu.cn'],
                },
              ],
              // the channel is the report's only: no alert is routed to it (no school is in this district)
              routes: [{ channels: ['电教馆邮件'], district: ['没有这个区'] }],
            },
            reports: {
              termMail: [
                {
                  channel: '电教馆邮件',
                  district: '武进区',
                  to: ['wj-djg@example.edu.cn'],
                  formats: ['pdf', 'xlsx'],
                },
              ],
            },
          }),
        );
      }
      // both at once: they race for the term that ended yesterday
      for (const name of ['a', 'b'])
        collectors.push(new CollectorProc(name, join(dir, `collector-${name}.yaml`)));
      await Promise.all(collectors.map((c) => c.url));
    }, 120_000);

    afterAll(async () => {
      await Promise.all(collectors.map((c) => c.kill()));
      await store?.close();
      await new Promise<void>((resolve) => (smtp ? smtp.close(() => resolve()) : resolve()));
      await pg?.cleanup();
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    it('one snapshot per district, one e-mail with the district’s report', async () => {
      // each collector says what it did with each district's snapshot and with the mail
      for (const c of collectors)
        for (const district of ['武进区', '新北区'])
          await c.line(new RegExp(`"district":"${district}".*"msg":"term snapshot (taken|stands)`));
      const mailed = collectors.map((c) => c.line(/"msg":"term report mail(ed| claimed before)/));
      const lines = await Promise.all(mailed);
      expect(lines.filter((l) => l.includes('"msg":"term report mailed"'))).toHaveLength(1);
      expect(lines.filter((l) => l.includes('claimed before'))).toHaveLength(1);
      const taken = collectors.flatMap((c) =>
        c.lines.filter((l) => l.includes('"msg":"term snapshot taken"')),
      );
      expect(taken).toHaveLength(2);

      const heads = await store.snapshots.listSnapshots();
      expect(heads.map((h) => [h.term, h.district, h.schools, h.trigger])).toEqual([
        [TERM.name, '新北区', 1, 'term-end'],
        [TERM.name, '武进区', 2, 'term-end'],
      ]);
      // the term before ended long ago: not frozen by the collectors (its state would be today's)
      expect(heads.some((h) => h.term === BEFORE.name)).toBe(false);

      expect(mails).toHaveLength(1);
      expect(mails[0]!.to).toEqual(['wj-djg@example.edu.cn']);
      if (!existsSync(PYTHON)) return;
      const file = join(dir, 'mail.eml');
      writeFileSync(file, mails[0]!.raw);
      const parsed = JSON.parse(
        execFileSync(
          PYTHON,
          [
            '-c',
            `import email, json, sys
from email import policy
m = email.message_from_bytes(open(sys.argv[1], 'rb').read(), policy=policy.default)
parts = []
for i, p in enumerate(m.iter_attachments()):
    open(sys.argv[1] + '.' + str(i), 'wb').write(p.get_content())
    parts.append({'type': p.get_content_type(), 'filename': p.get_filename()})
body = m.get_body(preferencelist=('plain',)).get_content()
print(json.dumps({'subject': str(m['subject']), 'parts': parts, 'body': body}, ensure_ascii=False))`,
            file,
          ],
          { encoding: 'utf8' },
        ),
      ) as { subject: string; parts: { type: string; filename: string }[]; body: string };
      expect(parsed.subject).toBe(`武进区中小学教育信息化达标情况通报（${TERM.name}）`);
      expect(parsed.parts).toEqual([
        { type: 'application/pdf', filename: `武进区达标情况通报-${TERM.name}.pdf` },
        {
          type: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
          filename: `武进区达标情况通报-${TERM.name}.xlsx`,
        },
      ]);
      expect(parsed.body).toContain('学校 2 所');
      if (existsSync('/usr/bin/pdftotext')) {
        const text = execFileSync('/usr/bin/pdftotext', [`${file}.0`, '-'], { encoding: 'utf8' }).replace(
          /\s+/g,
          '',
        );
        for (const s of SCHOOLS.filter((x) => x.district === '武进区')) expect(text).toContain(s.name);
        expect(text).not.toContain('百草园');
      }
    }, 120_000);
  },
);
