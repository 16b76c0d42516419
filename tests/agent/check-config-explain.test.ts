import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';

/** The rows of the explain table: key → { value, source }. */
function rows(stdout: string): Map<string, { value: string; source: string }> {
  const out = new Map<string, { value: string; source: string }>();
  for (const line of stdout.split('\n')) {
    const m = /^(\S+(?: \(schedule\))?)\s{2,}(.+?)\s{2,}(file.*|default|not set|derived: .*)$/.exec(line);
    if (m?.[1] && m[2] && m[3]) out.set(m[1], { value: m[2], source: m[3] });
  }
  return out;
}

describe('campuswatch-agent check-config --explain', () => {
  let dir: string;
  let config: string;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'cw-explain-'));
    writeFileSync(join(dir, 'community'), 'very-secret-community\n');
    config = join(dir, 'agent.yaml');
    writeFileSync(
      config,
      [
        'school: { id: explain-school, name: 解释学校, district: 武进区, pupils: 1800 }',
        'collector: { url: "https://collector.example.edu.cn" }',
        `state: ${join(dir, 'state')}`,
        'cycle: { intervalS: 120 }',
        'probes:',
        '  bandwidth: { enabled: true, window: { start: "02:00", end: "04:00" } }',
        // biome-ignore lint/suspicious/noTemplateCurlyInString: the reference syntax, not a placeholder
        '  uplink-snmp: { snmp: { community: "${file:community}" } }',
        'rooms:',
        '  - name: 智慧教室 301',
        '    type: smart',
        '    defaults: { checks: [icmp, { tcp: 80 }] }',
        '    devices:',
        '      - { name: 智慧黑板 301, type: panel, address: 192.0.2.1 }',
        '      - { name: 录播主机, type: recorder, address: 192.0.2.2, checks: [{ snmp: { community: also-secret } }] }',
        '  - name: 录播室',
        '    type: recording',
        '    devices:',
        '      - { name: 摄像机, type: camera, address: 192.0.2.3 }',
        '',
      ].join('\n'),
    );
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('prints every effective value with where it came from, never a secret', async () => {
    const r = await runCli('agent', ['check-config', '--config', config, '--explain']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`${config}: OK`);
    const t = rows(r.stdout);
    // from the file, UTF-8 names as written
    expect(t.get('school.name')).toEqual({ value: '解释学校', source: 'file' });
    expect(t.get('cycle.intervalS')).toEqual({ value: '120', source: 'file' });
    expect(t.get('probes.bandwidth.window.start')).toEqual({ value: '02:00', source: 'file' });
    // defaults of the schema
    expect(t.get('cycle.jitterPct')).toEqual({ value: '10', source: 'default' });
    expect(t.get('probes.bandwidth.method')).toEqual({ value: 'http', source: 'default' });
    expect(t.get('probes.security.enabled')).toEqual({ value: 'false', source: 'default' });
    expect(t.get('probes.ipv6.v6OnlyName')).toEqual({ value: '-', source: 'not set' });
    // derived from other values
    expect(t.get('school.tier')?.source).toMatch(/^derived: .*school\.pupils/);
    expect(t.get('school.tier')?.value).toContain('1800 pupils');
    expect(t.get('probes.bandwidth.server')).toMatchObject({
      value: 'https://collector.example.edu.cn',
      source: expect.stringMatching(/^derived: collector\.url/),
    });
    expect(t.get('probes.ipv6.dnsNames')).toMatchObject({ value: '["collector.example.edu.cn"]' });
    // when the probes run: the speed test in the window of the file, in the school's time zone
    expect(t.get('probes.bandwidth (schedule)')?.value).toMatch(
      /^nightly in 02:00-04:00 Asia\/Shanghai, this school at 0[23]:[0-5]\d; next /,
    );
    expect(t.get('probes.security (schedule)')?.value).toBe('off');
    expect(t.get('rooms[0].devices[0].checks')).toEqual({
      value: 'icmp tcp/80',
      source: 'derived: rooms[0].defaults.checks',
    });
    expect(t.get('rooms[1].devices[0].checks')).toEqual({
      value: 'icmp rtsp/554',
      source: 'derived: the built-in checks of type camera',
    });
    // secrets: where they came from, not what they are
    expect(t.get('probes.uplink-snmp.snmp.community')).toEqual({
      value: '[redacted]',
      // biome-ignore lint/suspicious/noTemplateCurlyInString: the reference syntax
      source: 'file (${file:community})',
    });
    expect(r.stdout).not.toContain('very-secret-community');
    expect(r.stdout).not.toContain('also-secret');
  });

  it('still refuses an invalid config with the field named (exit 2)', async () => {
    const bad = join(dir, 'bad.yaml');
    writeFileSync(
      bad,
      'school: { id: x, name: x }\ncollector: { url: "https://c.example" }\nprobes: { bandwidth: { windw: {} } }\n',
    );
    const r = await runCli('agent', ['check-config', '--config', bad, '--explain']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('probes.bandwidth.windw');
    expect(r.stdout).toBe('');
  });
});
