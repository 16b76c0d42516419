import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { kpiLines } from '../../collector/src/compliance/refresh.js';
import { parseCollectorConfig } from '../../collector/src/config.js';
import { provisioningFiles } from '../../collector/src/grafana-provision.js';
import {
  DISTRICT_HEX_MAX_BYTES,
  districtDatabase,
  districtOfLine,
  districtSlug,
  linesByDistrict,
} from '../../collector/src/store/district-databases.js';
import { ReportLines } from '../../collector/src/store/line-protocol.js';
import type { School } from '../../protocol/school.js';

const school = (district: string | undefined, name = '星海实验中学, 初中部'): School => ({
  id: 'sz-1',
  name,
  ...(district === undefined ? {} : { district }),
  group: '星海教育集团',
  timezone: 'Asia/Shanghai',
});

/** A point as the collector writes it (store/points.ts), with a string field. */
function lineOf(s: School, detail = 'ok'): string {
  const out = new ReportLines(s, 'medium', 'device');
  out.begin('device').tag('device', '录播主机 A1').num('up', 1).str('detail', detail).end(1_700_000_000_000);
  return out.lines[0]!;
}

describe('district database names', () => {
  it('spell the UTF-8 name in hex: a valid name that reads back to the district', () => {
    for (const d of ['苏州工业园区', '姑苏区', '张家港市', 'Gusu District', '吴中区, 新区']) {
      const slug = districtSlug(d);
      expect(slug).toMatch(/^[0-9a-f]+$/);
      expect(Buffer.from(slug, 'hex').toString('utf8')).toBe(d);
      expect(districtDatabase('cw_d_', d)).toBe(`cw_d_${slug}`);
    }
  });

  it('are the same on every call and different for different names, hashed beyond the hex limit', () => {
    const atLimit = '区'.repeat(DISTRICT_HEX_MAX_BYTES / 3);
    const overLimit = `${atLimit}a`;
    const longer = `${atLimit}b`;
    expect(districtSlug(atLimit)).toMatch(/^[0-9a-f]{60}$/);
    expect(districtSlug(overLimit)).toMatch(/^h[0-9a-f]{32}$/);
    expect(districtSlug(overLimit)).toBe(districtSlug(`${atLimit}a`));
    const names = [atLimit, overLimit, longer, '苏州', '苏州 ', '蘇州', 'ab', 'AB', '\u00e9', 'e\u0301'];
    expect(new Set(names.map(districtSlug)).size).toBe(names.length);
  });
});

describe('the district of a line of line protocol', () => {
  it("is the school's district tag, escaped characters and Chinese intact", () => {
    for (const d of ['苏州工业园区', '吴中区, 新区', 'a=b c', 'x\\y']) {
      expect(districtOfLine(lineOf(school(d)))).toBe(d);
    }
  });

  it('is none without the tag, even when a string field or another tag holds ",district="', () => {
    expect(districtOfLine(lineOf(school(undefined)))).toBeUndefined();
    expect(districtOfLine(lineOf(school(undefined), 'x,district=姑苏区'))).toBeUndefined();
    expect(districtOfLine(lineOf(school(undefined, '学校,district=姑苏区')))).toBeUndefined();
    expect(districtOfLine(lineOf(school('苏州工业园区', '学校,district=姑苏区')))).toBe('苏州工业园区');
  });

  it("KPI rows: a district's and its groups' carry it, the city's none", () => {
    const kpi = { met: 1, notMet: 0, noData: 0, schools: 1, pct: 100, goalPct: 80, goalMet: true };
    const g = (district: string | null, group: string | null) => ({
      district,
      group,
      schools: 1,
      targets: { school_connected: kpi },
    });
    const t = 1_700_000_000_000;
    expect(districtOfLine(kpiLines('city', g(null, null) as never, t)[0]!)).toBeUndefined();
    expect(districtOfLine(kpiLines('district', g('姑苏区', null) as never, t)[0]!)).toBe('姑苏区');
    expect(districtOfLine(kpiLines('group', g('姑苏区', '第一教育集团') as never, t)[0]!)).toBe('姑苏区');
  });

  it('groups lines by district in their order, leaving out the lines without one', () => {
    const a = lineOf(school('A区'));
    const b = lineOf(school('B区'));
    const none = lineOf(school(undefined));
    const a2 = lineOf(school('A区'), 'second');
    const groups = linesByDistrict([a, none, b, a2]);
    expect([...groups]).toEqual([
      ['A区', [a, a2]],
      ['B区', [b]],
    ]);
  });
});

describe('influx.perDistrict configuration', () => {
  const base = { url: 'http://127.0.0.1:8086', username: 'admin', password: 'admin-password' };
  const parseInflux = (influx: Record<string, unknown>) =>
    parseCollectorConfig(JSON.stringify({ influx }), 'collector.yaml').influx!;

  it('is off by default with the documented prefix', () => {
    expect(parseInflux(base).perDistrict).toEqual({
      enabled: false,
      databasePrefix: 'campuswatch_d_',
      readers: {},
    });
  });

  it('names the field of each mistake', () => {
    expect(() => parseInflux({ url: base.url, perDistrict: { enabled: true } })).toThrow(
      'collector.yaml: influx.perDistrict.enabled: needs influx.username and password of an InfluxDB admin',
    );
    expect(() =>
      parseInflux({ ...base, perDistrict: { readers: { 姑苏区: { password: '12345678' } } } }),
    ).toThrow('collector.yaml: influx.perDistrict.readers: only used with enabled: true');
    expect(() => parseInflux({ ...base, perDistrict: { enabled: true, databasePrefix: '1-x' } })).toThrow(
      'collector.yaml: influx.perDistrict.databasePrefix',
    );
    expect(() =>
      parseInflux({
        ...base,
        perDistrict: { enabled: true, cityReader: { username: 'admin', password: '12345678' } },
      }),
    ).toThrow('collector.yaml: influx.perDistrict.cityReader.username: must not be the collector');
  });
});

describe('Grafana provisioning files', () => {
  const input = {
    influxUrl: 'http://influxdb:8086',
    mainDatabase: 'campuswatch',
    databasePrefix: 'campuswatch_d_',
    cityUser: 'grafana',
    cityName: '市级',
    dashboardsPath: '/opt/campuswatch/dashboards/generated',
  };

  it('keep the organisation ids of an earlier run: a new district gets the next id, a dropped one keeps its own', () => {
    const first = provisioningFiles({ ...input, districts: ['苏州工业园区', '姑苏区'] }).orgs;
    expect(first.map((o) => [o.orgId, o.district])).toEqual([
      [1, null],
      [2, '姑苏区'],
      [3, '苏州工业园区'],
    ]);
    const second = provisioningFiles({
      ...input,
      districts: ['吴中区', '苏州工业园区'],
      previous: first,
    }).orgs;
    expect(second.map((o) => [o.orgId, o.district])).toEqual([
      [1, null],
      [2, '姑苏区'],
      [3, '苏州工业园区'],
      [4, '吴中区'],
    ]);
  });

  it('parse as YAML, one data source and dashboard provider per organisation, passwords from the environment', () => {
    const { files } = provisioningFiles({ ...input, districts: ['姑苏区'] });
    const ds = parse(files.get('datasources/campuswatch.yaml')!) as {
      datasources: {
        orgId: number;
        user: string;
        jsonData: { dbName: string };
        secureJsonData: { password: string };
      }[];
    };
    const gusu = districtDatabase('campuswatch_d_', '姑苏区');
    expect(
      ds.datasources.map((d) => [d.orgId, d.user, d.jsonData.dbName, d.secureJsonData.password]),
    ).toEqual([
      [1, 'grafana', 'campuswatch', `\${CAMPUSWATCH_INFLUX_READ_PASSWORD}`],
      [
        2,
        `${gusu}_reader`,
        gusu,
        `\${CAMPUSWATCH_INFLUX_READ_PASSWORD_${districtSlug('姑苏区').toUpperCase()}}`,
      ],
    ]);
    const dash = parse(files.get('dashboards/campuswatch.yaml')!) as {
      providers: { orgId: number; name: string }[];
    };
    expect(dash.providers.map((p) => [p.orgId, p.name])).toEqual([
      [1, 'campuswatch-org-1'],
      [2, 'campuswatch-org-2'],
    ]);
  });

  describe('create-orgs.sh', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cw-orgs-'));
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    /**
     * The two routes of Grafana's organisation API the script calls (GET /api/orgs/:id, POST /api/orgs with
     * basic auth), answering as Grafana documents them: no Grafana server is installed where the tests run.
     */
    async function grafanaOrgApi(orgs: Map<number, string>) {
      const calls: string[] = [];
      const server = createServer((req: IncomingMessage, res: ServerResponse) => {
        const chunks: Buffer[] = [];
        req.on('data', (c: Buffer) => chunks.push(c));
        req.on('end', () => {
          calls.push(`${req.method} ${req.url}`);
          const send = (status: number, body: unknown) => {
            res.writeHead(status, { 'content-type': 'application/json' });
            res.end(JSON.stringify(body));
          };
          if (req.headers.authorization !== `Basic ${Buffer.from('admin:pw').toString('base64')}`)
            return send(401, { message: 'Unauthorized' });
          const byId = /^\/api\/orgs\/(\d+)$/.exec(req.url ?? '');
          if (req.method === 'GET' && byId) {
            const name = orgs.get(Number(byId[1]));
            return name === undefined
              ? send(404, { message: 'Organization not found' })
              : send(200, { id: Number(byId[1]), name, address: {} });
          }
          if (req.method === 'POST' && req.url === '/api/orgs') {
            const { name } = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { name: string };
            if ([...orgs.values()].includes(name)) return send(409, { message: 'Organization name taken' });
            const id = Math.max(0, ...orgs.keys()) + 1;
            orgs.set(id, name);
            return send(200, { orgId: id, message: 'Organization created' });
          }
          return send(404, { message: 'Not found' });
        });
      });
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      return { url, calls, close: () => new Promise<void>((r) => server.close(() => r())) };
    }

    const run = (script: string, url: string) =>
      new Promise<{ code: number | null; out: string }>((resolve) => {
        const file = join(dir, 'create-orgs.sh');
        writeFileSync(file, script);
        const child = spawn('bash', [file], {
          env: {
            PATH: process.env.PATH,
            GRAFANA_URL: url,
            GRAFANA_ADMIN_USER: 'admin',
            GRAFANA_ADMIN_PASSWORD: 'pw',
          },
        });
        let out = '';
        child.stdout.on('data', (d: Buffer) => {
          out += d.toString();
        });
        child.stderr.on('data', (d: Buffer) => {
          out += d.toString();
        });
        child.on('close', (code) => resolve({ code, out }));
      });

    it('creates the missing organisations with the ids of the files, and is safe to run again', async () => {
      const api = await grafanaOrgApi(new Map([[1, 'Main Org.']]));
      try {
        const { files } = provisioningFiles({ ...input, districts: ['姑苏区', 'O\'Brien "区"'] });
        const script = files.get('create-orgs.sh')!;
        const first = await run(script, api.url);
        expect(first.out).toContain('organisation 2: "姑苏区" (created)');
        expect(first.code).toBe(0);
        const again = await run(script, api.url);
        expect(again.code).toBe(0);
        expect(again.out).toContain('organisation 2: "姑苏区" (exists)');
        expect(again.out).toContain('(exists)');
        expect(api.calls.filter((c) => c.startsWith('POST'))).toHaveLength(2);
      } finally {
        await api.close();
      }
    });

    it('stops when Grafana gives an organisation another id than the files', async () => {
      const api = await grafanaOrgApi(
        new Map([
          [1, 'Main Org.'],
          [2, '别的组织'],
        ]),
      );
      try {
        const { files } = provisioningFiles({ ...input, districts: ['姑苏区'] });
        const r = await run(files.get('create-orgs.sh')!, api.url);
        expect(r.code).toBe(1);
        expect(r.out).toContain('organisation 2 is not "姑苏区" in Grafana');
      } finally {
        await api.close();
      }
    });
  });
});
