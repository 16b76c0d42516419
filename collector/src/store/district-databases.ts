/**
 * One InfluxDB database per district (`influx.perDistrict`), so that Grafana can follow the access scopes:
 * InfluxDB 1.x grants READ per database, never per series, so a district's Grafana organisation can be
 * limited to that district's series only if they are in a database of their own.
 *
 * The collector writes every point to the main database (the city's) as before and, when the point carries
 * a `district` tag, also to that district's database `<prefix><slug>` (`districtDatabase`). The district is
 * read from the point's line of line protocol (`districtOfLine`), so every writer — reports, the outbox,
 * compliance rows and KPIs, agent status — is covered in one place (InfluxStore.writeCoalesced). Points
 * without a district (the city's KPIs, schools registered without one) stay in the main database only.
 *
 * For each district it writes, the collector (an InfluxDB admin) creates the database with the main
 * database's retention policies and rollups before the first write, and, when `perDistrict.readers` names
 * the district, a read-only user `<database>_reader` that holds READ on that database and nothing else.
 * deploy/grafana-organisations.md says why this design and what it costs.
 */
import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import { ensureRetention, rowsOf } from './retention.js';

/** District names up to this many UTF-8 bytes (10 Chinese characters) are spelled out in hex. */
export const DISTRICT_HEX_MAX_BYTES = 30;

/**
 * The part of a district's database name after the prefix: the lowercase hex of the name's UTF-8 bytes
 * (苏州工业园区 → e88b8fe5b79ee5b7a5e4b89ae59bade58cba; `echo … | xxd -r -p` spells it back), or, for a name
 * longer than DISTRICT_HEX_MAX_BYTES, `h` and the first 32 hex digits of its SHA-256. A valid database and
 * user name in InfluxDB and Grafana (ASCII letters and digits), the same on every collector and every
 * start, and different for different names: hex is one-to-one, and a hashed name (starting with `h`,
 * never a hex digit) cannot equal a spelled-out one. The name is taken exactly as the `district` tag
 * carries it (no normalisation), so a district's database holds exactly the points with that tag.
 */
export function districtSlug(district: string): string {
  const bytes = Buffer.from(district, 'utf8');
  if (bytes.length <= DISTRICT_HEX_MAX_BYTES) return bytes.toString('hex');
  return `h${createHash('sha256').update(bytes).digest('hex').slice(0, 32)}`;
}

/** The district's database: `<prefix><slug>`. */
export function districtDatabase(prefix: string, district: string): string {
  return `${prefix}${districtSlug(district)}`;
}

/** The read-only InfluxDB user of a database (a district's, or the main one for the city). */
export function readerUser(database: string): string {
  return `${database}_reader`;
}

const BACKSLASH = 92;
const COMMA = 44;
const SPACE = 32;
const EQUALS = 61;
const DISTRICT_KEY = 'district';
const ESCAPED = /\\([,= ])/g;

/**
 * The value of the `district` tag of a line of line protocol, or undefined when it has none. Reads the
 * series key as InfluxDB does (a backslash escapes the next character; the key ends at the first
 * unescaped space), so a `,district=` inside a string field or an escaped tag value is not taken for the tag.
 */
export function districtOfLine(line: string): string | undefined {
  // most lines either have the tag or no such text at all: the scan below runs only for the former
  if (!line.includes(',district=')) return undefined;
  const n = line.length;
  let i = 0;
  // the measurement
  while (i < n) {
    const c = line.charCodeAt(i);
    if (c === BACKSLASH) i += 2;
    else if (c === COMMA || c === SPACE) break;
    else i++;
  }
  while (i < n && line.charCodeAt(i) === COMMA) {
    const keyStart = ++i;
    while (i < n) {
      const c = line.charCodeAt(i);
      if (c === BACKSLASH) i += 2;
      else if (c === EQUALS || c === COMMA || c === SPACE) break;
      else i++;
    }
    const isDistrict = i - keyStart === DISTRICT_KEY.length && line.startsWith(DISTRICT_KEY, keyStart);
    if (line.charCodeAt(i) !== EQUALS) return undefined; // not line protocol InfluxDB would take
    const valueStart = ++i;
    while (i < n) {
      const c = line.charCodeAt(i);
      if (c === BACKSLASH) i += 2;
      else if (c === COMMA || c === SPACE) break;
      else i++;
    }
    if (isDistrict) {
      const value = line.slice(valueStart, Math.min(i, n));
      return value.includes('\\') ? value.replace(ESCAPED, '$1') : value;
    }
  }
  return undefined;
}

/** The lines that carry a district, grouped by it (in their order); lines without one are left out. */
export function linesByDistrict(lines: readonly string[]): Map<string, string[]> {
  const out = new Map<string, string[]>();
  let last: string | undefined;
  let group: string[] | undefined;
  for (const line of lines) {
    const d = districtOfLine(line);
    if (d === undefined) continue;
    // a report's lines are all of one school: one map look-up per run of the same district
    if (d !== last || group === undefined) {
      last = d;
      group = out.get(d);
      if (group === undefined) {
        group = [];
        out.set(d, group);
      }
    }
    group.push(line);
  }
  return out;
}

const quoteIdent = (name: string): string => `"${name.replaceAll('\\', '\\\\').replaceAll('"', '\\"')}"`;
/** An InfluxQL string literal (a password). */
const literal = (s: string): string => `'${s.replaceAll('\\', '\\\\').replaceAll("'", "\\'")}'`;

/** Runs one InfluxQL statement as the collector's (admin) user and returns the raw `/query` body. */
export type StatementRunner = (statement: string) => Promise<unknown>;

/**
 * Makes `username` a non-admin user with `password` whose only privilege is READ on `database`:
 * created when absent, its password set when present (the configured one wins), admin rights and
 * privileges on any other database revoked. Idempotent; the database must exist.
 */
export async function ensureReader(
  run: StatementRunner,
  opts: { username: string; password: string; database: string },
): Promise<void> {
  const { username, password, database } = opts;
  const user = quoteIdent(username);
  const existing = rowsOf(await run('SHOW USERS')).find((r) => r.user === username);
  if (existing === undefined) {
    await run(`CREATE USER ${user} WITH PASSWORD ${literal(password)}`);
  } else {
    await run(`SET PASSWORD FOR ${user} = ${literal(password)}`);
    if (existing.admin === true) await run(`REVOKE ALL PRIVILEGES FROM ${user}`);
  }
  const grants = rowsOf(await run(`SHOW GRANTS FOR ${user}`));
  for (const g of grants) {
    if (typeof g.database !== 'string' || g.database === database) continue;
    if (g.privilege !== 'NO PRIVILEGES') await run(`REVOKE ALL ON ${quoteIdent(g.database)} FROM ${user}`);
  }
  const own = grants.find((g) => g.database === database)?.privilege;
  if (own === 'READ') return;
  if (own !== undefined && own !== 'NO PRIVILEGES')
    await run(`REVOKE ALL ON ${quoteIdent(database)} FROM ${user}`);
  await run(`GRANT READ ON ${quoteIdent(database)} TO ${user}`);
}

export interface DistrictDatabasesOptions {
  /** The main database (the city's): its reader is `cityReader`. */
  mainDatabase: string;
  databasePrefix: string;
  /** Password of each district's read-only user, by district name as the `district` tag carries it. */
  readers: Readonly<Record<string, { password: string }>>;
  /** A read-only user of the main database for the city's Grafana organisation. */
  cityReader?: { username: string; password: string };
  rawDays: number;
  rollupDays: number;
  run: StatementRunner;
  log?: Pick<Logger, 'info' | 'warn' | 'error'>;
}

/** The per-district databases of one collector: created (with retention, rollups, reader) on first use. */
export class DistrictDatabases {
  private readonly ready = new Map<string, Promise<void>>();
  /** database → district, to refuse two districts that would share one (a hashed name's collision). */
  private readonly owners = new Map<string, string>();

  constructor(private readonly opts: DistrictDatabasesOptions) {}

  databaseOf(district: string): string {
    const database = districtDatabase(this.opts.databasePrefix, district);
    const owner = this.owners.get(database);
    if (owner === undefined) this.owners.set(database, district);
    else if (owner !== district)
      throw new Error(
        `districts ${JSON.stringify(owner)} and ${JSON.stringify(district)} map to the same database ${database}`,
      );
    return database;
  }

  /**
   * Resolves once the district's database exists (created when absent, then its retention policies,
   * rollups and reader; a failure of those is logged, as for the main database, and does not hold up
   * writes). A failure to create the database rejects, and the next call tries again.
   */
  prepare(district: string): Promise<void> {
    let p = this.ready.get(district);
    if (p === undefined) {
      p = this.create(district).catch((err: unknown) => {
        this.ready.delete(district);
        throw err;
      });
      this.ready.set(district, p);
    }
    return p;
  }

  /** At start: the databases and readers of every district in `readers`, and the city's reader. */
  async prepareConfigured(): Promise<void> {
    await Promise.all(Object.keys(this.opts.readers).map((d) => this.prepare(d)));
    const city = this.opts.cityReader;
    if (city) {
      await ensureReader(this.opts.run, { ...city, database: this.opts.mainDatabase }).catch((err: unknown) =>
        this.opts.log?.error(
          { user: city.username, database: this.opts.mainDatabase, err: (err as Error).message },
          'InfluxDB: the city reader could not be set up',
        ),
      );
    }
  }

  private async create(district: string): Promise<void> {
    const { run, log } = this.opts;
    const database = this.databaseOf(district);
    await run(`CREATE DATABASE ${quoteIdent(database)}`);
    // before the first write: points written before `raw` is the default policy would stay in autogen
    await ensureRetention(run, {
      database,
      rawDays: this.opts.rawDays,
      rollupDays: this.opts.rollupDays,
    }).catch((err: unknown) =>
      log?.error(
        { district, database, err: (err as Error).message },
        'InfluxDB retention/rollup setup failed',
      ),
    );
    const reader = this.opts.readers[district];
    if (reader === undefined) {
      log?.warn(
        { district, database },
        'district database has no reader (influx.perDistrict.readers): its Grafana organisation cannot read it yet',
      );
      return;
    }
    const username = readerUser(database);
    await ensureReader(run, { username, password: reader.password, database }).then(
      () => log?.info({ district, database, user: username }, 'district database and reader ready'),
      (err: unknown) =>
        log?.error(
          { district, database, user: username, err: (err as Error).message },
          'InfluxDB: the district reader could not be set up',
        ),
    );
  }
}
