// biome-ignore-all lint/suspicious/noTemplateCurlyInString: `${env:…}` / `${file:…}` in plain strings are the config syntax under test
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { loadAgentConfig, parseAgentConfig } from '../../agent/src/config.js';
import { loadCollectorConfig, parseCollectorConfig } from '../../collector/src/config.js';
import { resolveSecretReferences } from '../../protocol/config-file.js';
import { errorOf } from '../helpers/config-error.js';

// `${env:NAME}` and `${file:/path}` in any string value of a config file, resolved before the schema
// check: the secrets live in the environment or in files of their own (mode 0600, a Docker/K8s secret).

const dir = mkdtempSync(join(tmpdir(), 'cw-secrets-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
afterEach(() => {
  vi.unstubAllEnvs();
});

function secretFile(name: string, content: string): string {
  const file = join(dir, name);
  writeFileSync(file, content, { mode: 0o600 });
  return file;
}

const AGENT_BASE = ['school: { id: s1, name: 星海 }', 'collector: { url: "http://127.0.0.1:1" }'];

describe('collector config: secrets from the environment and from files', () => {
  it('influx.password from ${env:…}, adminToken from ${file:…} without its trailing newline', () => {
    vi.stubEnv('CW_INFLUX_PASSWORD', 'influx-pässword with spaces');
    const tokenFile = secretFile('admin-token', 'admin-0123456789abcdef\n');
    const c = parseCollectorConfig(
      [
        'influx: { url: "http://127.0.0.1:8086", username: cw, password: "${env:CW_INFLUX_PASSWORD}" }',
        `adminToken: "\${file:${tokenFile}}"`,
      ].join('\n'),
      'collector.yaml',
    );
    expect(c.influx?.password).toBe('influx-pässword with spaces');
    expect(c.adminToken).toBe('admin-0123456789abcdef');
  });

  it('only one trailing newline goes (CRLF too); the rest of the content is kept exactly', () => {
    const crlf = secretFile('crlf', 'line one\r\n');
    const two = secretFile('two', 'multi\nline\n\n');
    const r = resolveSecretReferences({ a: `\${file:${crlf}}`, b: `\${file:${two}}` });
    expect(r).toEqual({ value: { a: 'line one', b: 'multi\nline\n' }, problems: [] });
  });

  it('a notifier secret and a robot URL in alerts.channels; a reference inside a URL', () => {
    vi.stubEnv('CW_DINGTALK_TOKEN', 'dt-0123456789');
    const webhookSecret = secretFile('webhook-secret', 'whsec-0123456789abcdef\n');
    const c = parseCollectorConfig(
      [
        'alerts:',
        '  channels:',
        `    - { name: ops, type: webhook, url: "https://ops.example.edu.cn/hook", secret: "\${file:${webhookSecret}}" }`,
        '    - { name: 钉钉, type: dingtalk, url: "https://oapi.dingtalk.com/robot/send?access_token=${env:CW_DINGTALK_TOKEN}" }',
      ].join('\n'),
      'collector.yaml',
    );
    const [ops, ding] = c.alerts.channels;
    expect(ops).toMatchObject({ type: 'webhook', secret: 'whsec-0123456789abcdef' });
    expect(ding).toMatchObject({ url: 'https://oapi.dingtalk.com/robot/send?access_token=dt-0123456789' });
  });

  it('a missing variable names the YAML path of the field and the variable', () => {
    vi.stubEnv('CW_INFLUX_PASSWORD', undefined);
    const err = errorOf(() =>
      parseCollectorConfig(
        'influx: { url: "http://127.0.0.1:8086", username: cw, password: "${env:CW_INFLUX_PASSWORD}" }',
        'collector.yaml',
      ),
    );
    expect(err.message).toBe(
      'collector.yaml: influx.password: environment variable CW_INFLUX_PASSWORD is not set',
    );
  });

  it('an unreadable file names the field and the path; every problem is reported at once', () => {
    vi.stubEnv('CW_NOT_SET_1', undefined);
    const missing = join(dir, 'no-such-secret');
    const err = errorOf(() =>
      parseCollectorConfig(
        [
          `adminToken: "\${file:${missing}}"`,
          'alerts:',
          '  channels:',
          '    - { name: ops, type: webhook, url: "https://ops.example.edu.cn/hook", secret: "${env:CW_NOT_SET_1}" }',
        ].join('\n'),
        'collector.yaml',
      ),
    );
    expect(err.message.split('\n')).toEqual([
      `collector.yaml: adminToken: cannot read the file ${missing} (ENOENT)`,
      'collector.yaml: alerts.channels[0].secret: environment variable CW_NOT_SET_1 is not set',
    ]);
  });

  it('a directory is not a secret file; an unknown kind of reference and a bad variable name are named', () => {
    const sub = join(dir, 'a-directory');
    mkdirSync(sub, { recursive: true });
    const err = errorOf(() =>
      parseCollectorConfig(
        [
          `adminToken: "\${file:${sub}}"`,
          'influx: { url: "http://127.0.0.1:8086", username: "${vault:cw/influx}", password: "${env:bad-name}" }',
        ].join('\n'),
        'collector.yaml',
      ),
    );
    expect(err.message.split('\n')).toEqual([
      `collector.yaml: adminToken: cannot read the file ${sub} (EISDIR)`,
      'collector.yaml: influx.username: unknown reference "${vault:cw/influx}": use ${env:NAME} or ${file:/path}',
      'collector.yaml: influx.password: "bad-name" is not an environment variable name',
    ]);
  });

  it('the resolved value is still checked by the schema (a token that is too short)', () => {
    vi.stubEnv('CW_ADMIN_TOKEN', 'short');
    const err = errorOf(() => parseCollectorConfig('adminToken: "${env:CW_ADMIN_TOKEN}"', 'collector.yaml'));
    expect(err.message).toMatch(/^collector\.yaml: adminToken: /);
    expect(err.message).not.toContain('short');
  });

  it('a relative ${file:…} is relative to the config file, wherever the program runs', () => {
    const confDir = join(dir, 'etc');
    mkdirSync(join(confDir, 'secrets'), { recursive: true });
    writeFileSync(join(confDir, 'secrets', 'admin'), 'admin-fedcba9876543210\n');
    const file = join(confDir, 'collector.yaml');
    writeFileSync(file, 'adminToken: "${file:secrets/admin}"\n');
    expect(loadCollectorConfig(file).adminToken).toBe('admin-fedcba9876543210');
  });

  it('text without a reference is left alone, keys are never resolved, a substituted value is not scanned again', () => {
    vi.stubEnv('CW_LOOKS_LIKE_A_REFERENCE', '${env:HOME}');
    const r = resolveSecretReferences({
      '${env:HOME}': 'price: $5 {not a reference}',
      nested: [{ v: '${env:CW_LOOKS_LIKE_A_REFERENCE}' }],
      n: 3,
      b: true,
      nothing: null,
    });
    expect(r).toEqual({
      value: {
        '${env:HOME}': 'price: $5 {not a reference}',
        nested: [{ v: '${env:HOME}' }],
        n: 3,
        b: true,
        nothing: null,
      },
      problems: [],
    });
  });
});

describe('agent config: SNMP communities and v3 keys from the environment and from files', () => {
  it('inventory.snmp.community, a room default and a check’s v3 keys', () => {
    vi.stubEnv('CW_SNMP_COMMUNITY', 'campus-ro-7f3a');
    vi.stubEnv('CW_SNMP_AUTH', 'auth-key-0123456789');
    const privFile = secretFile('snmp-priv', 'priv-key-0123456789\n');
    const c = parseAgentConfig(
      [
        ...AGENT_BASE,
        'inventory: { snmp: { version: "2c", community: "${env:CW_SNMP_COMMUNITY}" } }',
        'rooms:',
        '  - name: 网络中心',
        '    type: core',
        '    devices:',
        '      - name: 核心交换机',
        '        type: switch',
        '        address: 127.0.0.1',
        `        checks: [ { snmp: { version: "3", user: cw, authKey: "\${env:CW_SNMP_AUTH}", privKey: "\${file:${privFile}}" } } ]`,
      ].join('\n'),
      'agent.yaml',
    );
    expect(c.inventory.snmp?.community).toBe('campus-ro-7f3a');
    expect(c.rooms[0]!.devices[0]!.checks).toEqual([
      { snmp: { version: '3', user: 'cw', authKey: 'auth-key-0123456789', privKey: 'priv-key-0123456789' } },
    ]);
  });

  it('a missing variable in the inventory names its YAML path', () => {
    vi.stubEnv('CW_SNMP_COMMUNITY', undefined);
    const err = errorOf(() =>
      parseAgentConfig(
        [
          ...AGENT_BASE,
          'rooms:',
          '  - name: 网络中心',
          '    type: core',
          '    devices:',
          '      - { name: 核心交换机, type: switch, address: 127.0.0.1, checks: [ { snmp: { community: "${env:CW_SNMP_COMMUNITY}" } } ] }',
        ].join('\n'),
        'agent.yaml',
      ),
    );
    expect(err.message).toBe(
      'agent.yaml: rooms[0].devices[0].checks[0].snmp.community: environment variable CW_SNMP_COMMUNITY is not set',
    );
  });

  it('loadAgentConfig reads a file reference next to the config file', () => {
    const confDir = join(dir, 'agent-etc');
    mkdirSync(confDir, { recursive: true });
    writeFileSync(join(confDir, 'community'), 'from-a-file-9c2e\n');
    const file = join(confDir, 'agent.yaml');
    writeFileSync(
      file,
      [...AGENT_BASE, 'inventory: { snmp: { community: "${file:community}" } }', ''].join('\n'),
    );
    expect(loadAgentConfig(file).inventory.snmp?.community).toBe('from-a-file-9c2e');
  });
});
