/**
 * Issue 24 item 3 on the command line: `agent list|revoke|rename` and `school list|update|archive` on a
 * data directory, as an operator runs them (the real program through tsx), each change in the audit trail.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SqliteStateStore } from '../../collector/src/store/sqlite-state.js';
import { runCli } from '../helpers/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'cw-cli-fleet-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const data = join(dir, 'collector');
const cli = (...args: string[]) => runCli('collector', [...args, '--data', data]);

/** Opens the data directory's store for a look (or a set-up step) and closes it. */
async function withStore<T>(use: (s: SqliteStateStore) => Promise<T>): Promise<T> {
  const store = new SqliteStateStore(data);
  try {
    return await use(store);
  } finally {
    await store.close();
  }
}

describe('campuswatch-collector agent … and school …', () => {
  const enrolled: { id: string; token: string }[] = [];

  beforeAll(async () => {
    for (const [id, name, district] of [
      ['wj-01', '常州市武进区星河实验小学', '武进区'],
      ['wj-02', '常州市武进区湖塘桥实验小学', '武进区'],
    ] as const) {
      const add = await cli(
        'school',
        'add',
        '--id',
        id,
        '--name',
        name,
        '--district',
        district,
        '--group',
        '星河教育集团',
      );
      expect(add.code, add.stderr).toBe(0);
    }
    await withStore(async (s) => {
      for (const [school, host] of [
        ['wj-01', 'nas-星河'],
        ['wj-02', 'nas-湖塘'],
      ] as const) {
        const { code } = await s.createEnrollCode(school, 60_000);
        const out = await s.enroll(code, { hostname: host, version: '0.1.0' });
        if ('error' in out) throw new Error(out.error);
        enrolled.push({ id: out.agent.id, token: out.token });
      }
    });
  }, 120_000);

  it('agent list shows every agent: school, hostname, version, never reported', async () => {
    const list = await cli('agent', 'list');
    expect(list.code, list.stderr).toBe(0);
    const lines = list.stdout.trim().split('\n');
    expect(lines[0]).toMatch(
      /^school\s+agent\s+name\s+hostname\s+version\s+status\s+last report\s+enrolled$/,
    );
    expect(lines[2]).toMatch(
      new RegExp(`^wj-01\\s+${enrolled[0]!.id}\\s+-\\s+nas-星河\\s+0\\.1\\.0\\s+never reported\\s+never\\s`),
    );
    expect(lines[3]).toContain(enrolled[1]!.id);
    const one = await cli('agent', 'list', '--school', 'wj-02', '--json');
    expect((JSON.parse(one.stdout) as { agents: { id: string }[] }).agents.map((a) => a.id)).toEqual([
      enrolled[1]!.id,
    ]);
    const unknown = await cli('agent', 'list', '--school', 'nope');
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('--school: unknown school "nope"');
  }, 120_000);

  it('agent rename names an agent (a bad name is exit 2); agent revoke refuses its token from then on', async () => {
    const [a] = enrolled;
    const bad = await cli('agent', 'rename', a!.id, 'tab\there');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('<name>: must be non-empty text without control characters');
    const renamed = await cli('agent', 'rename', a!.id, '星河校区机房');
    expect(renamed.code, renamed.stderr).toBe(0);
    expect(renamed.stdout).toBe(`agent ${a!.id} is now named 星河校区机房\n`);

    const revoked = await cli('agent', 'revoke', a!.id);
    expect(revoked.code, revoked.stderr).toBe(0);
    expect(revoked.stdout).toMatch(
      new RegExp(
        `^agent ${a!.id} \\(星河校区机房, school wj-01\\) revoked at \\S+Z: its next report is refused`,
      ),
    );
    const at = await withStore(async (s) => (await s.authenticate(a!.token))?.revokedAt);
    expect(at).toEqual(expect.stringMatching(/Z$/));
    expect((await cli('agent', 'revoke', a!.id)).stdout).toBe(
      `agent ${a!.id} was revoked already, at ${at}\n`,
    );
    const unknown = await cli('agent', 'revoke', 'ag_nobody');
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('unknown agent "ag_nobody"');

    const list = JSON.parse((await cli('agent', 'list', '--json')).stdout) as {
      agents: { id: string; name: string | null; status: string; revokedAt: string | null }[];
    };
    expect(list.agents.find((x) => x.id === a!.id)).toMatchObject({
      name: '星河校区机房',
      status: 'revoked',
      revokedAt: at,
    });
  }, 120_000);

  it('school update changes the fields given, "" removes one; problems name the flag', async () => {
    const bad = await cli('school', 'update', 'wj-02', '--tier', 'huge', '--protection-level', '4');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--tier: must be one of: "small", "medium", "large"');
    expect(bad.stderr).toContain('--protection-level: must be one of: 2, 3');
    expect((await cli('school', 'update', 'wj-02')).stderr).toContain(
      'give at least one of --name, --district',
    );
    expect((await cli('school', 'update', 'wj-02', '--name', '')).stderr).toContain(
      '--name: a school always has one; it cannot be removed',
    );
    const ok = await cli('school', 'update', 'wj-02', '--group', '', '--pupils', '900', '--stage', 'primary');
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toBe('school wj-02 (常州市武进区湖塘桥实验小学) updated: group, pupils, stage\n');
    expect(await withStore((s) => s.getSchool('wj-02'))).toEqual({
      id: 'wj-02',
      name: '常州市武进区湖塘桥实验小学',
      district: '武进区',
      pupils: 900,
      stage: 'primary',
      timezone: 'Asia/Shanghai',
    });
    expect((await cli('school', 'update', 'wj-02', '--pupils', '900')).stdout).toBe(
      'school wj-02 unchanged\n',
    );
  }, 120_000);

  it('school archive revokes its agents, takes it out of the list, the report and enrolment; --all shows it', async () => {
    const archived = await cli('school', 'archive', 'wj-02');
    expect(archived.code, archived.stderr).toBe(0);
    expect(archived.stdout).toMatch(
      new RegExp(
        `^school wj-02 \\(常州市武进区湖塘桥实验小学\\) archived at \\S+Z: 1 agent revoked \\(${enrolled[1]!.id}\\); its history is kept`,
      ),
    );
    expect(await withStore(async (s) => (await s.authenticate(enrolled[1]!.token))?.revokedAt)).toEqual(
      expect.any(String),
    );
    const list = await cli('school', 'list');
    expect(list.stdout).toContain('wj-01');
    expect(list.stdout).not.toContain('wj-02');
    const all = await cli('school', 'list', '--all');
    expect(all.stdout).toMatch(
      /wj-02\s+常州市武进区湖塘桥实验小学\s+武进区\s+-\s+\w+\s+0\s+never\s+archived \S+Z/,
    );
    const report = await cli('report', '--format', 'csv');
    expect(report.stdout).toContain('wj-01');
    expect(report.stdout).not.toContain('wj-02');
    const code = await cli('enroll-code', '--school', 'wj-02');
    expect(code.code).toBe(2);
    expect(code.stderr).toContain('school wj-02 was archived at');
    expect((await cli('school', 'archive', 'wj-02')).stdout).toMatch(
      /^school wj-02 was archived already, at \S+Z\n$/,
    );

    // every change above is in the audit trail, as the operator who ran it
    const trail = await cli('audit');
    for (const action of ['agent.rename', 'agent.revoke', 'school.update', 'school.archive'])
      expect(trail.stdout).toMatch(new RegExp(`cli:\\S+\\s+local\\s+${action.replace('.', '\\.')}\\s`));
  }, 120_000);
});
