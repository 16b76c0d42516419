/**
 * `campuswatch-collector user …`, `token …` and `audit`: accounts (role + scope), API tokens and the audit
 * trail, on the configured state store. Secrets (a generated password, a new token) are printed once, on
 * stdout, and never logged; every change is audited as `cli:<os user>`.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { formatTable, UsageError } from '../../protocol/cli.js';
import { LEVELS, type Level, ROLES, type Role, type Scope, scopeProblem, scopeText } from './access/model.js';
import { hashPassword, passwordProblem } from './access/passwords.js';
import { auditCli, type CommonOpts, dataFlags, type WithState } from './cli-common.js';
import { DuplicateAccountError } from './store/access-store.js';
import type { StateStore } from './store/state.js';

interface ScopeOpts {
  role: string;
  scope: string;
  district?: string;
  group?: string;
  school?: string;
}

/** The roles of people's accounts; `display` is a wall display's token only. */
const ACCOUNT_ROLES = ROLES.filter((r) => r !== 'display');

function roleAndScope(o: ScopeOpts): { role: Role; scope: Scope } {
  if (!(ROLES as readonly string[]).includes(o.role))
    throw new UsageError(`--role: one of ${ROLES.join(', ')}`);
  if (!(LEVELS as readonly string[]).includes(o.scope))
    throw new UsageError(`--scope: one of ${LEVELS.join(', ')}`);
  const level = o.scope as Level;
  const scope: Scope = {
    level,
    ...(level !== 'city' && o.district ? { district: o.district } : {}),
    ...(level === 'group' && o.group ? { group: o.group } : {}),
    ...(level === 'school' && o.school ? { school: o.school } : {}),
  };
  const problem = scopeProblem(scope, o.role as Role);
  if (problem) throw new UsageError(problem);
  return { role: o.role as Role, scope };
}

/** A password from --password-file, or a generated one (printed once). */
function passwordOf(o: { passwordFile?: string; generatePassword?: boolean }): {
  password: string;
  generated: boolean;
} {
  if (o.passwordFile && o.generatePassword)
    throw new UsageError('give --password-file or --generate-password, not both');
  if (o.passwordFile) {
    let text: string;
    try {
      text = readFileSync(o.passwordFile, 'utf8').replace(/\r?\n$/, '');
    } catch (err) {
      throw new UsageError(
        `--password-file: cannot read ${o.passwordFile} (${(err as NodeJS.ErrnoException).code ?? 'error'})`,
      );
    }
    const problem = passwordProblem(text);
    if (problem) throw new UsageError(`--password-file: the password ${problem}`);
    return { password: text, generated: false };
  }
  if (!o.generatePassword) throw new UsageError('give --password-file FILE or --generate-password');
  // 20 characters of base64url: ~120 bits
  return { password: `${randomBytes(15).toString('base64url')}-cw`, generated: true };
}

export function addAccessCommands(program: Command, withState: WithState): void {
  const scopeFlags = (c: Command) =>
    c
      .requiredOption('--role <role>', `${ACCOUNT_ROLES.join('|')} (admin: city only)`)
      .requiredOption('--scope <level>', LEVELS.join('|'))
      .option('--district <name>', 'the district of a district, group or school scope')
      .option('--group <name>', 'the education group of a group scope')
      .option('--school <id>', 'the school of a school scope');

  const user = program
    .command('user')
    .description('people’s accounts: a role (viewer, oncall, admin) in a scope');
  scopeFlags(dataFlags(user.command('add').description('add an account; prints a generated password once')))
    .requiredOption('--name <name>', 'account name (login)')
    .option('--password-file <file>', 'read the password from a file (first line)')
    .option('--generate-password', 'generate a password and print it once')
    .option('--if-none', 'do nothing when any account exists already (first administrator)')
    .action(
      async (
        o: CommonOpts &
          ScopeOpts & { name: string; passwordFile?: string; generatePassword?: boolean; ifNone?: boolean },
      ) => {
        if (o.role === 'display')
          throw new UsageError(
            '--role: display is for a wall display’s token, not an account: use token add --role display',
          );
        const { role, scope } = roleAndScope(o);
        if (!/^[\p{L}\p{N}._@-]{1,100}$/u.test(o.name))
          throw new UsageError('--name: letters, digits, . _ @ -; 1-100');
        await withState(o, async (state) => {
          if (o.ifNone && (await state.access.listAccounts()).length > 0) return;
          const { password, generated } = passwordOf(o);
          try {
            await state.access.addAccount(
              { name: o.name, role, scope, passwordHash: await hashPassword(password) },
              new Date(),
            );
          } catch (err) {
            if (err instanceof DuplicateAccountError) throw new UsageError(`--name: ${err.message}`);
            throw err;
          }
          await auditCli(state, 'account.add', o.name, `${role} ${scopeText(scope)}`);
          process.stdout.write(`account ${o.name} (${role}, ${scopeText(scope)}) added\n`);
          if (generated) process.stdout.write(`password (shown once): ${password}\n`);
        });
      },
    );

  dataFlags(user.command('list').description('list accounts')).action(async (o: CommonOpts) => {
    await withState(o, async (state) => {
      const now = Date.now();
      const rows = (await state.access.listAccounts()).map((a) => [
        a.name,
        a.role,
        scopeText(a.scope),
        a.disabled
          ? 'disabled'
          : a.lockedUntil && Date.parse(a.lockedUntil) > now
            ? `locked until ${a.lockedUntil}`
            : 'active',
        a.createdAt,
      ]);
      process.stdout.write(
        rows.length === 0
          ? 'no accounts\n'
          : `${formatTable(['name', 'role', 'scope', 'state', 'created'], rows)}\n`,
      );
    });
  });

  const named = async (state: StateStore, name: string) => {
    const a = await state.access.accountByName(name);
    if (!a) throw new UsageError(`--name: no account ${JSON.stringify(name)}`);
    return a;
  };
  for (const [verb, disabled] of [
    ['disable', true],
    ['enable', false],
  ] as const) {
    dataFlags(
      user.command(verb).description(`${verb} an account${disabled ? ' (its sessions end now)' : ''}`),
    )
      .requiredOption('--name <name>', 'account name')
      .action(async (o: CommonOpts & { name: string }) => {
        await withState(o, async (state) => {
          const a = await named(state, o.name);
          await state.access.updateAccount(a.id, { disabled });
          if (disabled) await state.access.deleteSessionsOf(a.id);
          await auditCli(state, `account.${verb}`, o.name);
          process.stdout.write(`account ${o.name} ${disabled ? 'disabled' : 'enabled'}\n`);
        });
      });
  }
  dataFlags(user.command('unlock').description('unlock an account locked after failed logins'))
    .requiredOption('--name <name>', 'account name')
    .action(async (o: CommonOpts & { name: string }) => {
      await withState(o, async (state) => {
        const a = await named(state, o.name);
        await state.access.updateAccount(a.id, { failedLogins: 0, lockedUntil: null });
        await auditCli(state, 'account.unlock', o.name);
        process.stdout.write(`account ${o.name} unlocked\n`);
      });
    });
  dataFlags(user.command('passwd').description('set an account’s password (its sessions end)'))
    .requiredOption('--name <name>', 'account name')
    .option('--password-file <file>', 'read the password from a file (first line)')
    .option('--generate-password', 'generate a password and print it once')
    .action(async (o: CommonOpts & { name: string; passwordFile?: string; generatePassword?: boolean }) => {
      await withState(o, async (state) => {
        const a = await named(state, o.name);
        const { password, generated } = passwordOf(o);
        await state.access.updateAccount(a.id, {
          passwordHash: await hashPassword(password),
          failedLogins: 0,
          lockedUntil: null,
        });
        await state.access.deleteSessionsOf(a.id);
        await auditCli(state, 'account.passwd', o.name);
        process.stdout.write(`password of ${o.name} changed\n`);
        if (generated) process.stdout.write(`password (shown once): ${password}\n`);
      });
    });

  const token = program
    .command('token')
    .description('API tokens for scripts and machines (Grafana, Prometheus)');
  dataFlags(token.command('add').description('add a token; prints it once'))
    .requiredOption('--name <name>', 'what the token is for, e.g. grafana-武进区 or 大屏-武进')
    .option('--user <account>', 'act for this account (its role and scope)')
    .option(
      '--role <role>',
      `${ROLES.join('|')} (a machine token, without --user; display: a wall display, city, district or group)`,
    )
    .option('--scope <level>', LEVELS.join('|'))
    .option('--district <name>', 'the district of a district, group or school scope')
    .option('--group <name>', 'the education group of a group scope')
    .option('--school <id>', 'the school of a school scope')
    .action(async (o: CommonOpts & Partial<ScopeOpts> & { name: string; user?: string }) => {
      await withState(o, async (state) => {
        let accountId: string | null = null;
        let rs: { role: Role; scope: Scope };
        if (o.user) {
          if (o.role || o.scope)
            throw new UsageError('--user gives the role and scope: leave out --role and --scope');
          const a = await named(state, o.user);
          accountId = a.id;
          rs = { role: a.role, scope: a.scope };
        } else {
          if (!o.role || !o.scope)
            throw new UsageError('give --user ACCOUNT, or --role and --scope for a machine token');
          rs = roleAndScope(o as ScopeOpts);
        }
        const { record, token: secret } = await state.access.addToken(
          { name: o.name, accountId, ...rs },
          new Date(),
        );
        await auditCli(state, 'token.add', record.id, `${o.name}: ${rs.role} ${scopeText(rs.scope)}`);
        process.stdout.write(`token ${record.id} (${o.name}, ${rs.role}, ${scopeText(rs.scope)}) added\n`);
        process.stdout.write(`token (shown once): ${secret}\n`);
        if (rs.role === 'display')
          process.stdout.write(
            'open /wall?token=<the token> once in the wall display’s browser: it keeps it as a cookie\n',
          );
      });
    });
  dataFlags(token.command('list').description('list tokens (never their secrets)')).action(
    async (o: CommonOpts) => {
      await withState(o, async (state) => {
        const names = new Map((await state.access.listAccounts()).map((a) => [a.id, a.name]));
        const rows = (await state.access.listTokens()).map((t) => [
          t.id,
          t.name,
          t.accountId ? (names.get(t.accountId) ?? t.accountId) : '(machine)',
          t.role,
          scopeText(t.scope),
          t.lastUsedAt ?? 'never',
          t.revokedAt ? `revoked ${t.revokedAt}` : 'active',
        ]);
        process.stdout.write(
          rows.length === 0
            ? 'no tokens\n'
            : `${formatTable(['id', 'name', 'account', 'role', 'scope', 'last used', 'state'], rows)}\n`,
        );
      });
    },
  );
  dataFlags(
    token.command('revoke').description('revoke a token (refused from its next request, on every collector)'),
  )
    .requiredOption('--id <id>', 'token id (token list)')
    .action(async (o: CommonOpts & { id: string }) => {
      await withState(o, async (state) => {
        if (!(await state.access.revokeToken(o.id, new Date())))
          throw new UsageError(`--id: no active token ${JSON.stringify(o.id)}`);
        await auditCli(state, 'token.revoke', o.id);
        process.stdout.write(`token ${o.id} revoked\n`);
      });
    });

  dataFlags(program.command('audit').description('print the audit trail: who, from where, did what'))
    .option('--since <time>', 'ISO date or time')
    .option('--account <name>', 'only this actor (account name, token:<name>, cli:<user>)')
    .action(async (o: CommonOpts & { since?: string; account?: string }) => {
      if (o.since && Number.isNaN(Date.parse(o.since)))
        throw new UsageError('--since: an ISO date or time, e.g. 2026-12-01');
      await withState(o, async (state) => {
        const actorFilter = o.account && !o.account.includes(':') ? `account:${o.account}` : o.account;
        const rows = (
          await state.access.audit({
            ...(o.since ? { since: new Date(o.since).toISOString() } : {}),
            ...(actorFilter ? { actor: actorFilter } : {}),
          })
        ).map((e) => [e.at, e.actor, e.address, e.action, e.target, e.detail]);
        process.stdout.write(
          rows.length === 0
            ? 'no audit entries\n'
            : `${formatTable(['time', 'who', 'from', 'action', 'target', 'detail'], rows)}\n`,
        );
      });
    });
}
