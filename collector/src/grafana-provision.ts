/**
 * Grafana provisioning for the access scopes (`campuswatch-collector grafana provision`): one Grafana
 * organisation per district whose InfluxDB data source reads that district's database
 * (store/district-databases.ts) as its read-only user, and the city's organisation (Grafana's main one,
 * id 1) reading the main database. Every organisation gets the same data source uid, so the dashboards of
 * dashboards/generated/ work unchanged in each.
 *
 * Grafana cannot create organisations from provisioning files, and a data source or dashboard provider
 * names its organisation by id: `create-orgs.sh` creates the organisations through Grafana's HTTP API and
 * stops if one has another id than the files say. Ids are kept across runs (`orgs.json` in the output
 * directory is read back), so that adding a district never renumbers the others.
 */
import { stringify } from 'yaml';
import { districtDatabase, districtSlug, readerUser } from './store/district-databases.js';

export const DATASOURCE_UID = 'campuswatch-influxdb';
/** Grafana's own first organisation, which the city uses. */
export const CITY_ORG_ID = 1;
/** The environment variable (in Grafana's environment) holding the city reader's password. */
export const CITY_PASSWORD_ENV = 'CAMPUSWATCH_INFLUX_READ_PASSWORD';

/** One organisation and what its data source reads. */
export interface OrgEntry {
  orgId: number;
  /** The organisation's name in Grafana: the district's name, or the city's. */
  name: string;
  /** null for the city. */
  district: string | null;
  database: string;
  user: string;
  /** The variable of Grafana's environment its data source's password is read from (never the secret). */
  passwordEnv: string;
}

export interface ProvisionInput {
  /** InfluxDB as Grafana reaches it, e.g. http://influxdb:8086. */
  influxUrl: string;
  mainDatabase: string;
  databasePrefix: string;
  districts: readonly string[];
  /** The city reader (perDistrict.cityReader.username, or `<main database>_reader`). */
  cityUser: string;
  /** The city organisation's name in orgs.json (Grafana's organisation 1 keeps its own name). */
  cityName: string;
  /** Where dashboards/generated/*.json are on the Grafana host. */
  dashboardsPath: string;
  /** orgs.json of an earlier run: its ids are kept. */
  previous?: readonly OrgEntry[];
}

/** The password variable of a district's reader: `CAMPUSWATCH_INFLUX_READ_PASSWORD_<slug in capitals>`. */
export function districtPasswordEnv(district: string): string {
  return `${CITY_PASSWORD_ENV}_${districtSlug(district).toUpperCase()}`;
}

/** The organisations: the city first (id 1), then each district, with the ids of `previous` kept. */
export function planOrgs(input: ProvisionInput): OrgEntry[] {
  const districts = [...new Set(input.districts)].sort((a, b) => a.localeCompare(b, 'zh-Hans-CN'));
  const previousId = new Map(
    (input.previous ?? []).filter((o) => o.district !== null).map((o) => [o.district!, o.orgId]),
  );
  const used = new Set<number>([CITY_ORG_ID, ...previousId.values()]);
  let next = Math.max(...used) + 1;
  const orgs: OrgEntry[] = [
    {
      orgId: CITY_ORG_ID,
      name: input.cityName,
      district: null,
      database: input.mainDatabase,
      user: input.cityUser,
      passwordEnv: CITY_PASSWORD_ENV,
    },
  ];
  for (const district of districts) {
    let orgId = previousId.get(district);
    if (orgId === undefined) {
      orgId = next++;
      used.add(orgId);
    }
    const database = districtDatabase(input.databasePrefix, district);
    orgs.push({
      orgId,
      name: district,
      district,
      database,
      user: readerUser(database),
      passwordEnv: districtPasswordEnv(district),
    });
  }
  // districts of an earlier run that are no longer listed keep their organisation (and id) in the files
  for (const o of input.previous ?? []) {
    if (o.district !== null && !districts.includes(o.district)) orgs.push(o);
  }
  return orgs.sort((a, b) => a.orgId - b.orgId);
}

const HEADER = (what: string) =>
  `# ${what}\n# Written by \`campuswatch-collector grafana provision\`; run it again rather than editing this file.\n`;

function datasourcesYaml(input: ProvisionInput, orgs: readonly OrgEntry[]): string {
  const datasources = orgs.map((o) => ({
    name: DATASOURCE_UID,
    uid: DATASOURCE_UID,
    orgId: o.orgId,
    type: 'influxdb',
    access: 'proxy',
    url: input.influxUrl,
    isDefault: true,
    editable: false,
    user: o.user,
    jsonData: { dbName: o.database, httpMode: 'POST', timeInterval: '60s' },
    // Grafana expands ${NAME} from its environment: the secret is never in this file
    secureJsonData: { password: `\${${o.passwordEnv}}` },
  }));
  return `${HEADER(
    'Grafana data sources, one per organisation: the city reads the main database, each district only its own (deploy/grafana-organisations.md).',
  )}${stringify({ apiVersion: 1, datasources }, { lineWidth: 0 })}`;
}

function dashboardsYaml(input: ProvisionInput, orgs: readonly OrgEntry[]): string {
  const providers = orgs.map((o) => ({
    name: `campuswatch-org-${o.orgId}`,
    orgId: o.orgId,
    folder: 'campuswatch',
    folderUid: 'campuswatch',
    type: 'file',
    disableDeletion: true,
    allowUiUpdates: false,
    updateIntervalSeconds: 60,
    options: { path: input.dashboardsPath, foldersFromFilesStructure: false },
  }));
  return `${HEADER('Grafana dashboard providers: the campuswatch dashboards in every organisation.')}${stringify(
    { apiVersion: 1, providers },
    { lineWidth: 0 },
  )}`;
}

/** A single-quoted shell word. */
const sh = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`;

function createOrgsScript(orgs: readonly OrgEntry[]): string {
  const lines = orgs
    .filter((o) => o.district !== null)
    .map((o) => `ensure_org ${o.orgId} ${sh(JSON.stringify(o.name))}`)
    .join('\n');
  return `#!/usr/bin/env bash
# Creates the Grafana organisations that the provisioning files of this directory name, through Grafana's
# HTTP API (curl only), and stops when an id is taken by another organisation or a name has another id
# than the files give it (then edit orgs.json, run \`campuswatch-collector grafana provision\` again).
# Safe to run again. Run it before Grafana loads these files, or restart Grafana afterwards:
#   GRAFANA_URL=http://127.0.0.1:3000 GRAFANA_ADMIN_USER=admin GRAFANA_ADMIN_PASSWORD=… bash create-orgs.sh
# Written by \`campuswatch-collector grafana provision\`.
set -euo pipefail
: "\${GRAFANA_URL:?set GRAFANA_URL, e.g. http://127.0.0.1:3000}"
: "\${GRAFANA_ADMIN_PASSWORD:?set GRAFANA_ADMIN_PASSWORD (a Grafana server admin)}"
auth="\${GRAFANA_ADMIN_USER:-admin}:\${GRAFANA_ADMIN_PASSWORD}"
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT

# ensure_org ID NAME_AS_JSON: organisation ID exists and has that name (created when there is none)
ensure_org() {
  local want=$1 name=$2 code
  code=$(curl -sS -u "$auth" -o "$tmp" -w '%{http_code}' "$GRAFANA_URL/api/orgs/$want")
  if [ "$code" = 200 ]; then
    if grep -qF -- '"name":'"$name" "$tmp"; then echo "organisation $want: $name (exists)"; return; fi
    echo "create-orgs.sh: organisation $want is not $name in Grafana: $(cat "$tmp")" >&2
    exit 1
  fi
  if [ "$code" != 404 ]; then
    echo "create-orgs.sh: GET /api/orgs/$want: HTTP $code: $(cat "$tmp")" >&2
    exit 1
  fi
  code=$(curl -sS -u "$auth" -o "$tmp" -w '%{http_code}' -H 'content-type: application/json' \\
    -d '{"name":'"$name"'}' "$GRAFANA_URL/api/orgs")
  if [ "$code" != 200 ] || ! grep -qE '"orgId":"?'"$want"'"?[,}]' "$tmp"; then
    echo "create-orgs.sh: creating $name did not give organisation $want: HTTP $code: $(cat "$tmp")" >&2
    exit 1
  fi
  echo "organisation $want: $name (created)"
}

${lines}
`;
}

/** The files to write (path relative to the output directory → content) and the organisations. */
export function provisioningFiles(input: ProvisionInput): { orgs: OrgEntry[]; files: Map<string, string> } {
  const orgs = planOrgs(input);
  const files = new Map<string, string>([
    ['orgs.json', `${JSON.stringify(orgs, null, 2)}\n`],
    ['datasources/campuswatch.yaml', datasourcesYaml(input, orgs)],
    ['dashboards/campuswatch.yaml', dashboardsYaml(input, orgs)],
    ['create-orgs.sh', createOrgsScript(orgs)],
  ]);
  return { orgs, files };
}
