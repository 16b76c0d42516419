import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../collector/src/app.js';
import { parseCollectorConfig } from '../../collector/src/config.js';
import { runCli } from '../helpers/cli.js';

/** `user`, `token` and `audit` as an administrator types them; what they print is what the API accepts. */
describe('campuswatch-collector user / token / audit', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cw-cli-access-'));
  const data = join(dir, 'data');
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const cli = (...args: string[]) => runCli('collector', [...args, '--data', data]);

  it('adds accounts and tokens, prints each secret once, and the API accepts exactly them', async () => {
    const first = await cli(
      'user',
      'add',
      '--name',
      'admin',
      '--role',
      'admin',
      '--scope',
      'city',
      '--generate-password',
      '--if-none',
      '--init', // the first command on a new data directory creates its state
    );
    expect(first.code, first.stderr).toBe(0);
    const password = /^password \(shown once\): (\S+)$/m.exec(first.stdout)?.[1];
    expect(password).toBeDefined();
    // --if-none: a second run adds nothing and prints no password
    const again = await cli(
      'user',
      'add',
      '--name',
      'admin2',
      '--role',
      'admin',
      '--scope',
      'city',
      '--generate-password',
      '--if-none',
    );
    expect([again.code, again.stdout]).toEqual([0, '']);

    const pwFile = join(dir, 'pw');
    writeFileSync(pwFile, '武进区-值班-2026\n');
    const wj = await cli(
      'user',
      'add',
      '--name',
      '武进值班',
      '--role',
      'oncall',
      '--scope',
      'district',
      '--district',
      '武进区',
      '--password-file',
      pwFile,
    );
    expect(wj.stdout).toBe('account 武进值班 (oncall, district 武进区) added\n');
    const bad = await cli(
      'user',
      'add',
      '--name',
      'x',
      '--role',
      'admin',
      '--scope',
      'district',
      '--district',
      'A',
      '--generate-password',
    );
    expect([bad.code, bad.stderr.trim()]).toEqual([2, 'an administrator has the city scope']);
    const weak = join(dir, 'weak');
    writeFileSync(weak, 'short\n');
    const w2 = await cli(
      'user',
      'add',
      '--name',
      'y',
      '--role',
      'viewer',
      '--scope',
      'city',
      '--password-file',
      weak,
    );
    expect(w2.stderr).toContain('--password-file: the password must be at least 10 characters');

    const list = await cli('user', 'list');
    expect(list.stdout).toMatch(/admin\s+admin\s+city\s+active/);
    expect(list.stdout).toMatch(/武进值班\s+oncall\s+district 武进区\s+active/);

    const tok = await cli(
      'token',
      'add',
      '--name',
      'grafana-武进区',
      '--role',
      'viewer',
      '--scope',
      'district',
      '--district',
      '武进区',
    );
    const token = /^token \(shown once\): (cwt1\.\S+)$/m.exec(tok.stdout)?.[1];
    expect(token, tok.stdout + tok.stderr).toBeDefined();
    const tokenId = token!.split('.')[1]!;
    const tokens = await cli('token', 'list');
    expect(tokens.stdout).toContain(tokenId);
    expect(tokens.stdout).not.toContain(token!.split('.')[2]!);

    // the collector accepts the printed password and token, and the revoked token no longer
    const app = await buildApp(
      parseCollectorConfig(JSON.stringify({ listen: '127.0.0.1:0', dataDir: data })),
    );
    try {
      const login = await app.inject({
        method: 'POST',
        url: '/api/v1/login',
        payload: { name: 'admin', password },
      });
      expect(login.statusCode).toBe(200);
      const me = await app.inject({
        method: 'GET',
        url: '/api/v1/me',
        headers: { authorization: `Bearer ${token}` },
      });
      expect(me.json()).toMatchObject({
        name: 'token:grafana-武进区',
        role: 'viewer',
        scopeText: 'district 武进区',
      });
      expect((await cli('token', 'revoke', '--id', tokenId)).stdout).toBe(`token ${tokenId} revoked\n`);
      const after = await app.inject({
        method: 'GET',
        url: '/api/v1/me',
        headers: { authorization: `Bearer ${token}` },
      });
      expect(after.statusCode).toBe(401);
    } finally {
      await app.close();
    }

    const audit = await cli('audit');
    for (const action of ['account.add', 'token.add', 'token.revoke', 'login'])
      expect(audit.stdout, action).toMatch(new RegExp(`\\b${action.replace('.', '\\.')}\\b`));
    expect(audit.stdout).not.toContain(password!);
    expect(audit.stdout).not.toContain('武进区-值班-2026');
    expect(audit.stdout).not.toContain(token!.split('.')[2]!);
    const mine = await cli('audit', '--account', 'admin');
    expect(
      mine.stdout
        .trim()
        .split('\n')
        .slice(2)
        .every((l) => l.includes('account:admin')),
    ).toBe(true);
  }, 120_000);

  it('a wall display’s token: token add --role display (city, district or group); never an account', async () => {
    const add = await cli(
      'token',
      'add',
      '--name',
      '大屏-武进',
      '--role',
      'display',
      '--scope',
      'district',
      '--district',
      '武进区',
    );
    expect(add.code, add.stderr).toBe(0);
    expect(add.stdout).toMatch(/^token \S+ \(大屏-武进, display, district 武进区\) added$/m);
    expect(add.stdout).toContain('open /wall?token=<the token> once in the wall display’s browser');
    const token = /^token \(shown once\): (cwt1\.\S+)$/m.exec(add.stdout)?.[1];
    expect(token).toBeDefined();
    const school = await cli(
      'token',
      'add',
      '--name',
      'x',
      '--role',
      'display',
      '--scope',
      'school',
      '--school',
      'a',
    );
    expect([school.code, school.stderr.trim()]).toEqual([
      2,
      'a wall display shows a city, district or group',
    ]);
    const user = await cli(
      'user',
      'add',
      '--name',
      '大屏',
      '--role',
      'display',
      '--scope',
      'city',
      '--generate-password',
    );
    expect([user.code, user.stderr.trim()]).toEqual([
      2,
      '--role: display is for a wall display’s token, not an account: use token add --role display',
    ]);
    expect((await cli('user', 'list')).stdout).not.toContain('大屏');
    expect((await cli('user', 'add', '--help')).stdout).toContain('viewer|oncall|admin (admin: city only)');

    // the collector lets it open the wall of 武进区 and nothing else
    const app = await buildApp(
      parseCollectorConfig(JSON.stringify({ listen: '127.0.0.1:0', dataDir: data })),
    );
    try {
      const get = (url: string) =>
        app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${token}` } });
      const wall = await get('/api/v1/wall');
      expect(wall.statusCode).toBe(200);
      expect(wall.json()).toMatchObject({ scope: { level: 'district', district: '武进区' } });
      expect((await get('/api/v1/schools')).statusCode).toBe(403);
      const open = await app.inject({ method: 'GET', url: `/wall?token=${encodeURIComponent(token!)}` });
      expect([open.statusCode, open.headers.location]).toEqual([303, '/wall']);
    } finally {
      await app.close();
    }
  }, 60_000);
});
