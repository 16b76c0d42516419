/**
 * `campuswatch-collector grafana provision`: Grafana's provisioning files for one organisation per
 * district (grafana-provision.ts), from the collector's configuration and the districts of its schools.
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Command } from 'commander';
import { Type } from 'typebox';
import { formatTable, UsageError } from '../../protocol/cli.js';
import { checker, formatProblem } from '../../protocol/validate.js';
import type { CommonOpts, WithState } from './cli-common.js';
import { type CollectorConfig, DATABASE_PREFIX_PATTERN, loadCollectorConfig } from './config.js';
import { type OrgEntry, provisioningFiles } from './grafana-provision.js';
import { readerUser } from './store/district-databases.js';

interface ProvisionOpts extends CommonOpts {
  out: string;
  district: string[];
  influxUrl?: string;
  database?: string;
  prefix?: string;
  cityUser?: string;
  cityName: string;
  dashboardsPath: string;
}

const OrgEntries = Type.Array(
  Type.Object({
    orgId: Type.Integer({ minimum: 1 }),
    name: Type.String({ minLength: 1 }),
    district: Type.Union([Type.String({ minLength: 1 }), Type.Null()]),
    database: Type.String({ minLength: 1 }),
    user: Type.String({ minLength: 1 }),
    passwordEnv: Type.String({ minLength: 1 }),
  }),
);

/** orgs.json of an earlier run in the output directory (its ids are kept), or none. */
function previousOrgs(file: string): OrgEntry[] | undefined {
  if (!existsSync(file)) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new UsageError(
      `${file}: not JSON (${(err as Error).message}); remove it to number the organisations anew`,
    );
  }
  const check = checker<OrgEntry[]>(OrgEntries);
  if (!check.check(value))
    throw new UsageError(`${file}: ${check.problems(value).map(formatProblem).join('; ')}`);
  return value;
}

const PREFIX_PATTERN = new RegExp(DATABASE_PREFIX_PATTERN);

export function addGrafanaCommands(program: Command, withState: WithState): void {
  const grafana = program.command('grafana').description('Grafana in the access scopes');
  grafana
    .command('provision')
    .description(
      "write Grafana provisioning for one organisation per district (its data source reads only its district's InfluxDB database) and the city's (the main database); prints the mapping",
    )
    .requiredOption('--out <dir>', 'output directory (orgs.json there from an earlier run keeps the ids)')
    .option(
      '--config <file>',
      'collector YAML config: influx url, database, perDistrict, and the state store',
    )
    .option('--data <dir>', 'state directory: the districts of the registered schools')
    .option(
      '--district <name>',
      'a district (repeatable; added to those of the registered schools and of perDistrict.readers)',
      (v: string, acc: string[]) => [...acc, v],
      [] as string[],
    )
    .option('--influx-url <url>', "InfluxDB as Grafana reaches it (default: the config's influx.url)")
    .option('--database <name>', "the main database (default: the config's, or campuswatch)")
    .option('--prefix <prefix>', "the districts' database prefix (default: perDistrict.databasePrefix)")
    .option(
      '--city-user <user>',
      'the city reader (default: perDistrict.cityReader.username, or <database>_reader)',
    )
    .option('--city-name <name>', "the city organisation's name in orgs.json", '市级 (city)')
    .option(
      '--dashboards-path <dir>',
      'where dashboards/generated is on the Grafana host',
      '/opt/campuswatch/dashboards/generated',
    )
    .action(async (opts: ProvisionOpts) => {
      const config: CollectorConfig | undefined = opts.config ? loadCollectorConfig(opts.config) : undefined;
      const influx = config?.influx;
      const influxUrl = opts.influxUrl ?? influx?.url;
      if (influxUrl === undefined)
        throw new UsageError('--influx-url URL is required (or --config FILE with an influx section)');
      if (!/^https?:\/\/[^\s/]+\/?$/.test(influxUrl))
        throw new UsageError('--influx-url: http(s)://host:port');
      const mainDatabase = opts.database ?? influx?.database ?? 'campuswatch';
      const databasePrefix = opts.prefix ?? influx?.perDistrict.databasePrefix ?? 'campuswatch_d_';
      if (!PREFIX_PATTERN.test(databasePrefix))
        throw new UsageError(`--prefix: must match ${PREFIX_PATTERN.source}`);
      const districts = new Set<string>(opts.district);
      for (const d of Object.keys(influx?.perDistrict.readers ?? {})) districts.add(d);
      for (const s of config?.schools ?? []) if (s.district) districts.add(s.district);
      if (opts.data || opts.config) {
        await withState(opts, async (state) => {
          for (const s of await state.listSchools()) if (s.district) districts.add(s.district);
        });
      }
      const orgsFile = join(opts.out, 'orgs.json');
      const previous = previousOrgs(orgsFile);
      const { orgs, files } = provisioningFiles({
        influxUrl,
        mainDatabase,
        databasePrefix,
        districts: [...districts],
        cityUser: opts.cityUser ?? influx?.perDistrict.cityReader?.username ?? readerUser(mainDatabase),
        cityName: opts.cityName,
        dashboardsPath: opts.dashboardsPath,
        ...(previous ? { previous } : {}),
      });
      for (const [path, content] of files) {
        const file = join(opts.out, path);
        mkdirSync(dirname(file), { recursive: true });
        writeFileSync(file, content);
        if (path.endsWith('.sh')) chmodSync(file, 0o755);
      }
      process.stdout.write(
        `${formatTable(
          ['org', 'district', 'database', 'reader', 'password from'],
          orgs.map((o) => [String(o.orgId), o.district ?? '(city)', o.database, o.user, `$${o.passwordEnv}`]),
        )}\n\nwrote ${[...files.keys()].map((p) => join(opts.out, p)).join(', ')}\n` +
          'Grafana: create the organisations (create-orgs.sh), mount datasources/ and dashboards/ under ' +
          '/etc/grafana/provisioning/, and set each password variable in its environment (deploy/grafana-organisations.md).\n',
      );
    });
}
