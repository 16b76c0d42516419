import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadAgentConfig, parseAgentConfig } from '../../agent/src/config.js';
import { loadCollectorConfig, parseCollectorConfig } from '../../collector/src/config.js';
import { DEFAULT_TARGETS_FILE, loadTargets } from '../../collector/src/targets.js';
import { DEVICE_TYPE_LABELS, DEVICE_TYPES, ROOM_TYPE_LABELS, ROOM_TYPES } from '../../protocol/vocabulary.js';
import { errorOf } from '../helpers/config-error.js';

const fixture = (name: string) => `tests/fixtures/config/${name}`;

describe('config error messages name the file, the field path and what was expected', () => {
  const cases: [string, (f: string) => unknown, string][] = [
    ['agent-wrong-type.yaml', loadAgentConfig, 'cycle.intervalS: must be integer'],
    ['agent-unknown-key.yaml', loadAgentConfig, 'rooms[0].devices[0].tpc: unknown key'],
    ['agent-missing-school-id.yaml', loadAgentConfig, 'school.id: is required'],
    [
      'agent-bad-tag.yaml',
      loadAgentConfig,
      'rooms[0].name: must be non-empty text without control characters and must not end with a backslash',
    ],
    [
      'agent-syntax.yaml',
      loadAgentConfig,
      'YAML syntax error at line 2, column 1: Flow map in block collection must be sufficiently indented and end with a }',
    ],
    [
      'agent-inventory-unknown-type.yaml',
      loadAgentConfig,
      'rooms[0].devices[0].type: unknown device type "recoder" (did you mean "recorder"?)',
    ],
    [
      'agent-inventory-room-type-typo.yaml',
      loadAgentConfig,
      'rooms[0].type: unknown room type "recroding" (did you mean "recording"?)',
    ],
    [
      'agent-inventory-room-type-unknown.yaml',
      loadAgentConfig,
      'rooms[0].type: unknown room type "xyz" (known: recording, smart, classroom, lab, office, library, core, ap, other, 报告厅; declare custom ones in inventory.customRoomTypes)',
    ],
    [
      'agent-inventory-device-type-unknown.yaml',
      loadAgentConfig,
      'rooms[0].devices[0].type: unknown device type "whiteboard" (known: recorder, encoder, camera, panel, projector, switch, router, ap, server, nvr, pc, other, lectern; declare custom ones in inventory.customDeviceTypes)',
    ],
    [
      'agent-inventory-custom-type-builtin.yaml',
      loadAgentConfig,
      'inventory.customDeviceTypes[1].name: "camera" is a built-in device type: use it without declaring it',
    ],
    [
      'agent-inventory-custom-room-type-twice.yaml',
      loadAgentConfig,
      'inventory.customRoomTypes[2]: "报告厅" is declared twice',
    ],
    [
      'agent-inventory-type-defaults-typo.yaml',
      loadAgentConfig,
      'inventory.deviceTypeDefaults.projecter: unknown device type "projecter" (did you mean "projector"?)',
    ],
    [
      'agent-inventory-duplicate-device.yaml',
      loadAgentConfig,
      'rooms[0].devices[1].name: duplicate device name "教师机位" in room "录播室 1"',
    ],
    [
      'agent-inventory-bad-address.yaml',
      loadAgentConfig,
      'rooms[0].devices[0].address: "10.203.1.300" is not an IP address or host name',
    ],
    [
      'agent-inventory-snmp-no-credentials.yaml',
      loadAgentConfig,
      'rooms[0].devices[0].checks: the snmp check needs SNMP credentials: a community (v2c) or a v3 user with keys, in inventory.snmp, the room’s defaults.snmp or the check',
    ],
    ['collector-wrong-type.yaml', loadCollectorConfig, 'ingest.bodyLimitBytes: must be integer'],
    ['collector-unknown-key.yaml', loadCollectorConfig, 'influxdb: unknown key'],
    ['collector-missing-school-id.yaml', loadCollectorConfig, 'schools[0].id: is required'],
    ['targets-bad-tolerance.yaml', loadTargets, 'uplink.tolerance: must be <= 1'],
  ];
  for (const [file, load, expected] of cases) {
    it(file, () => {
      const err = errorOf(() => load(fixture(file)));
      expect(err.message).toBe(`${fixture(file)}: ${expected}`);
      expect(err.file).toBe(fixture(file));
    });
  }

  it('reports a missing file with its path', () => {
    const err = errorOf(() => loadAgentConfig('/nonexistent/agent.yaml'));
    expect(err.message).toBe('/nonexistent/agent.yaml: cannot read the file (ENOENT)');
  });

  it('cross-field checks: probe timeout must be below its interval; unknown time zone; duplicate devices', () => {
    const err = errorOf(() =>
      parseAgentConfig(
        [
          'school: { id: s1, name: 星海, timezone: Mars/Olympus }',
          'collector: { url: "http://127.0.0.1:1" }',
          'probes: { host: { intervalS: 30, timeoutS: 30 } }',
          'rooms:',
          '  - { name: 录播室, type: recording, devices: [ { name: 主机, address: 127.0.0.1 }, { name: 主机, address: 127.0.0.2 } ] }',
        ].join('\n'),
        'agent.yaml',
      ),
    );
    expect(err.message.split('\n')).toEqual([
      'agent.yaml: school.timezone: unknown time zone "Mars/Olympus"',
      'agent.yaml: probes.host.timeoutS: must be less than intervalS (30)',
      'agent.yaml: rooms[0].devices[1].name: duplicate device name "主机" in room "录播室"',
    ]);
  });

  it('a device name used in two rooms is refused naming the first room (the collector refuses such reports)', () => {
    const err = errorOf(() =>
      parseAgentConfig(
        [
          'school: { id: s1, name: 星海 }',
          'collector: { url: "http://127.0.0.1:1" }',
          'rooms:',
          '  - { name: "301", type: classroom, devices: [ { name: 投影仪, address: 127.0.0.1 } ] }',
          '  - { name: "302", type: classroom, devices: [ { name: 投影仪, address: 127.0.0.2 } ] }',
        ].join('\n'),
        'agent.yaml',
      ),
    );
    expect(err.message).toBe(
      'agent.yaml: rooms[1].devices[0].name: device name "投影仪" is used in room "301" too: a device\'s name identifies it in the school\'s results, give each its own (e.g. "投影仪 302")',
    );
  });
});

describe('room and device types are closed vocabularies, extended by the config', () => {
  it('custom types are suggested like built-in ones; a custom name may not be a built-in one; every problem at once', () => {
    const err = errorOf(() =>
      parseAgentConfig(
        [
          'school: { id: s1, name: 星海 }',
          'collector: { url: "http://127.0.0.1:1" }',
          'inventory: { customRoomTypes: [recording, 报告厅], customDeviceTypes: [{ name: lectern }] }',
          'rooms:',
          '  - { name: 一号报告厅, type: 报告室, devices: [ { name: 讲台, type: lecturn, address: 10.0.0.1 } ] }',
          '  - { name: 智慧教室, type: Smart, devices: [ { name: 白板, type: panel, address: 10.0.0.2 } ] }',
        ].join('\n'),
        'agent.yaml',
      ),
    );
    expect(err.message.split('\n')).toEqual([
      'agent.yaml: inventory.customRoomTypes[0]: "recording" is a built-in room type: use it without declaring it',
      'agent.yaml: rooms[0].type: unknown room type "报告室" (did you mean "报告厅"?)',
      'agent.yaml: rooms[0].devices[0].type: unknown device type "lecturn" (did you mean "lectern"?)',
      'agent.yaml: rooms[1].type: unknown room type "Smart" (did you mean "smart"?)',
    ]);
  });

  it('config/agent.example.yaml lists every room and device type with its zh-CN label', () => {
    const text = readFileSync('config/agent.example.yaml', 'utf8');
    const rooms = text.slice(text.indexOf('#   room types:'), text.indexOf('#   device types:'));
    const devices = text.slice(text.indexOf('#   device types:'), text.indexOf('# Declare other types'));
    for (const t of ROOM_TYPES) expect(rooms).toContain(` ${t} ${ROOM_TYPE_LABELS[t].zh}`);
    for (const t of DEVICE_TYPES) expect(devices).toContain(` ${t} ${DEVICE_TYPE_LABELS[t].zh}`);
  });

  it('a device without a type is "other"; custom types load and round-trip their UTF-8 names', () => {
    const c = loadAgentConfig(fixture('agent-inventory-custom-types.yaml'));
    expect(c.inventory.customRoomTypes).toEqual(['报告厅', 'broadcast']);
    expect(c.rooms.map((r) => r.type)).toEqual(['报告厅', 'broadcast']);
    expect(c.rooms[1]!.devices[0]!.type).toBe('广播主机');
    const plain = parseAgentConfig(
      [
        'school: { id: s1, name: 星海 }',
        'collector: { url: "http://127.0.0.1:1" }',
        'rooms: [ { name: 机房, type: core, devices: [ { name: 服务器, address: 10.0.0.1 } ] } ]',
      ].join('\n'),
    );
    expect(plain.rooms[0]!.devices[0]!.type).toBe('other');
  });
});

describe('shipped configs', () => {
  it('the example agent config loads with defaults filled in', () => {
    const c = loadAgentConfig('config/agent.example.yaml');
    expect(c.school.name).toBe('苏州工业园区星海实验中学, 初中部');
    expect(c.school.timezone).toBe('Asia/Shanghai');
    expect(c.rooms.map((r) => r.type)).toEqual(['recording', 'smart']);
    expect(c.rooms[0]!.devices[0]!.critical).toBe(true);
    expect(c.rooms[0]!.devices[0]!.checks).toEqual(['icmp']);
    expect(c.inventory.deviceTypeDefaults.panel).toEqual(['icmp', { tcp: 80 }]);
  });

  it('the example collector config loads', () => {
    const c = loadCollectorConfig('config/collector.example.yaml');
    expect(c.listen).toBe('127.0.0.1:8080');
    expect(c.influx).toBeUndefined();
    expect(c.clock.maxOffsetS).toBe(30);
    expect(c.schools[0]!.group).toBe('星海教育集团');
  });

  it('targets.yaml holds every target of the plan (README "Compliance")', () => {
    const t = loadTargets(DEFAULT_TARGETS_FILE);
    expect(t.uplink.tolerance).toBe(0.9);
    expect([t.uplink.tiers.small.mbps, t.uplink.tiers.medium.mbps, t.uplink.tiers.large.mbps]).toEqual([
      300, 500, 1000,
    ]);
    expect([t.backbone.coreMinMbps, t.backbone.accessMinMbps]).toEqual([10000, 1000]);
    expect(t.ipv6.minScore).toBe(9);
    expect(t.recordingRoom.districtGoalPct).toBe(80);
    expect(t.smartClassroom.districtGoalPct).toBe(100);
    expect(t.deviceAvailability).toMatchObject({
      minPct: 99,
      teachingHours: { start: '07:30', end: '17:30' },
    });
    expect(readFileSync(DEFAULT_TARGETS_FILE, 'utf8')).toContain('300兆—1000兆接入');
  });

  it('defaults apply when a section is absent; collector defaults to the embedded store', () => {
    const c = parseCollectorConfig('');
    expect(c.console).toEqual({ wallRefreshS: 30 });
    expect(c.influx).toBeUndefined();
    expect(c.ingest.bodyLimitBytes).toBe(1_048_576);
    expect(c.state).toEqual({ kind: 'sqlite', poolMax: 10, latestCacheResults: 500_000 });
  });

  it('console.wallRefreshS: at least 2 s, named in the error', () => {
    expect(parseCollectorConfig('console: { wallRefreshS: 2 }').console.wallRefreshS).toBe(2);
    const error = (yaml: string) => errorOf(() => parseCollectorConfig(yaml, 'collector.yaml')).message;
    expect(error('console: { wallRefreshS: 1 }')).toBe('collector.yaml: console.wallRefreshS: must be >= 2');
    expect(error('console: { wallRefresh: 5 }')).toBe('collector.yaml: console.wallRefresh: unknown key');
  });

  it('state: postgres needs a postgres:// url, sqlite takes none; the url may come from a file', () => {
    const error = (yaml: string) => errorOf(() => parseCollectorConfig(yaml, 'collector.yaml')).message;
    expect(error('state: { kind: postgres }')).toBe(
      'collector.yaml: state.url: kind postgres needs the url of the PostgreSQL database',
    );
    expect(error('state: { url: "postgres://u:p@db/cw" }')).toBe(
      'collector.yaml: state.url: a url is only for kind postgres',
    );
    expect(error('state: { kind: postgres, url: "mysql://db/cw" }')).toMatch(
      /^collector\.yaml: state\.url: /,
    );
    expect(error('state: { kind: mongo }')).toMatch(/^collector\.yaml: state\.kind: /);
    const dir = mkdtempSync(join(tmpdir(), 'cw-state-url-'));
    try {
      writeFileSync(join(dir, 'url'), 'postgres://cw:s3cret@db.example.edu.cn:5432/campuswatch\n');
      const c = parseCollectorConfig(`state: { kind: postgres, url: "\${file:${join(dir, 'url')}}" }`);
      expect(c.state).toEqual({
        kind: 'postgres',
        url: 'postgres://cw:s3cret@db.example.edu.cn:5432/campuswatch',
        poolMax: 10,
        latestCacheResults: 500_000,
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('collector alert channels in the config', () => {
  it('names a bad channel and a route to an unknown channel', () => {
    const err = errorOf(() =>
      parseCollectorConfig(
        JSON.stringify({
          alerts: {
            channels: [{ name: 'a', type: 'pager', url: 'http://127.0.0.1:1/' }],
          },
        }),
        'collector.yaml',
      ),
    );
    expect(err.message).toBe(
      'collector.yaml: alerts.channels[0].type: must be one of: webhook, wecom, dingtalk, feishu, email',
    );
    const route = errorOf(() =>
      parseCollectorConfig(
        JSON.stringify({
          alerts: {
            channels: [{ name: 'ops', type: 'webhook', url: 'http://127.0.0.1:1/hook' }],
            routes: [{ channels: ['ops', 'oncall'], severity: ['critical'] }],
          },
        }),
        'collector.yaml',
      ),
    );
    expect(route.message).toBe('collector.yaml: alerts.routes[0].channels[1]: no channel named "oncall"');
  });
});

describe('transport: HTTPS, or plain HTTP only on loopback or when allowed', () => {
  const collectorError = (yaml: string) =>
    errorOf(() => parseCollectorConfig(yaml, 'collector.yaml')).message;
  const agentYaml = (collector: string) =>
    ['school: { id: s1, name: 星海 }', `collector: ${collector}`].join('\n');
  const agentError = (collector: string) =>
    errorOf(() => parseAgentConfig(agentYaml(collector), 'agent.yaml')).message;

  it('the collector refuses plain HTTP on a non-loopback address, naming tls and allowPlainHttp', () => {
    expect(collectorError('listen: 0.0.0.0:8080')).toBe(
      'collector.yaml: listen: plain HTTP on the non-loopback address 0.0.0.0: configure tls (certFile, keyFile) or set allowPlainHttp: true',
    );
    expect(collectorError('listen: "[2001:db8::10]:8080"')).toBe(
      'collector.yaml: listen: plain HTTP on the non-loopback address 2001:db8::10: configure tls (certFile, keyFile) or set allowPlainHttp: true',
    );
    expect(collectorError('listen: 127.0.0.1:8080\nspeedtest: { listen: 10.203.0.2:8081 }')).toBe(
      'collector.yaml: speedtest.listen: plain HTTP on the non-loopback address 10.203.0.2: configure tls (certFile, keyFile) or set allowPlainHttp: true',
    );
  });

  it('allowPlainHttp: true lets it listen anywhere; loopback needs nothing; the default stays plain on 127.0.0.1', () => {
    const allowed = parseCollectorConfig(
      'listen: 0.0.0.0:8080\nallowPlainHttp: true\nspeedtest: { listen: 10.203.0.2:8081 }',
    );
    expect(allowed).toMatchObject({ listen: '0.0.0.0:8080', allowPlainHttp: true });
    expect(allowed.tls).toBeUndefined();
    for (const listen of [
      '127.0.0.1:0',
      '127.8.9.10:8080',
      '"[::1]:8080"',
      'localhost:8080',
      '"[::ffff:127.0.0.1]:80"',
    ]) {
      expect(parseCollectorConfig(`listen: ${listen}`).allowPlainHttp).toBe(false);
    }
    expect(parseCollectorConfig('')).toMatchObject({ listen: '127.0.0.1:8080', allowPlainHttp: false });
  });

  it('tls: unreadable files are named with their field and path; unknown keys are refused', () => {
    expect(
      collectorError(
        'listen: 0.0.0.0:8443\ntls: { certFile: /nonexistent/collector.crt, keyFile: /nonexistent/collector.key }',
      ).split('\n'),
    ).toEqual([
      'collector.yaml: tls.certFile: cannot read the file /nonexistent/collector.crt (ENOENT)',
      'collector.yaml: tls.keyFile: cannot read the file /nonexistent/collector.key (ENOENT)',
    ]);
    expect(collectorError('tls: { cert: a.pem, keyFile: b.pem }').split('\n')).toEqual([
      'collector.yaml: tls.certFile: is required',
      'collector.yaml: tls.cert: unknown key',
    ]);
    expect(
      collectorError('tls: { certFile: config/targets.yaml, keyFile: config/targets.yaml }').split('\n'),
    ).toEqual([
      'collector.yaml: tls.certFile: config/targets.yaml holds no PEM certificate',
      'collector.yaml: tls.keyFile: config/targets.yaml holds no PEM private key (or it is encrypted)',
    ]);
  });

  it('the agent refuses an http:// collector that is not on loopback, naming collector.allowPlainHttp', () => {
    expect(agentError('{ url: "http://collector.example.edu.cn" }')).toBe(
      'agent.yaml: collector.url: plain HTTP to the non-loopback host collector.example.edu.cn sends the agent token in clear text: use https:// or set collector.allowPlainHttp: true',
    );
    expect(agentError('{ url: "http://10.203.0.1:8080/" }')).toBe(
      'agent.yaml: collector.url: plain HTTP to the non-loopback host 10.203.0.1 sends the agent token in clear text: use https:// or set collector.allowPlainHttp: true',
    );
    for (const collector of [
      '{ url: "https://collector.example.edu.cn" }',
      '{ url: "http://collector.example.edu.cn", allowPlainHttp: true }',
      '{ url: "http://127.0.0.1:8080" }',
      '{ url: "http://[::1]:8080" }',
      '{ url: "http://localhost:8080" }',
    ]) {
      expect(parseAgentConfig(agentYaml(collector)).collector.url).toMatch(/^https?:\/\//);
    }
  });

  it('the agent’s collector.caFile must be a readable PEM file', () => {
    expect(agentError('{ url: "https://collector.example.edu.cn", caFile: /nonexistent/ca.pem }')).toBe(
      'agent.yaml: collector.caFile: cannot read the file /nonexistent/ca.pem (ENOENT)',
    );
    expect(agentError('{ url: "https://collector.example.edu.cn", caFile: config/targets.yaml }')).toBe(
      'agent.yaml: collector.caFile: config/targets.yaml holds no PEM certificate',
    );
  });
});
