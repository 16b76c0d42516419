import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadAgentConfig, parseAgentConfig } from '../../agent/src/config.js';
import { loadCollectorConfig, parseCollectorConfig } from '../../collector/src/config.js';
import { DEFAULT_TARGETS_FILE, loadTargets } from '../../collector/src/targets.js';
import { ConfigError } from '../../protocol/config-file.js';

const fixture = (name: string) => `tests/fixtures/config/${name}`;

function errorOf(load: () => unknown): ConfigError {
  try {
    load();
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('expected a ConfigError, but the config loaded');
}

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
      'rooms[0].devices[0].type: must be one of: "recorder", "encoder", "camera", "panel", "projector", "switch", "router", "ap", "server", "nvr", "pc", "other"',
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

  it('targets.yaml holds the full DESIGN §5 table', () => {
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
    expect(c.influx).toBeUndefined();
    expect(c.ingest.bodyLimitBytes).toBe(1_048_576);
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
