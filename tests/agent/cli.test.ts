import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { runCli } from '../helpers/cli.js';
import { sqliteOf, World, XINGHAI } from '../helpers/world.js';

describe('campuswatch-agent CLI against a running collector', () => {
  const w = new World();
  let configFile: string;
  beforeAll(async () => {
    await w.startCollector();
    const config = w.agentConfig('cli');
    configFile = join(w.dir, 'agent.yaml');
    writeFileSync(configFile, stringify(config));
  });
  afterAll(() => w.cleanup());

  it('check-config prints a readable summary', async () => {
    const r = await runCli('agent', ['check-config', '--config', configFile]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`school      ${XINGHAI.id}  ${XINGHAI.name}`);
    expect(r.stdout).toMatch(/reachability\s+yes\s+60s\s+30s/);
    expect(r.stdout).toMatch(
      /录播室 1\s+recording\s+录播主机 A1, 东楼\s+recorder\s+127\.0\.0\.1\s+tcp\/\d+\s+yes/,
    );
  });

  it('status before enrolment says so and exits 1; enroll with a bad code exits 1 with the reason', async () => {
    const s = await runCli('agent', ['status', '--config', configFile]);
    expect(s.code).toBe(1);
    expect(s.stdout).toContain('enrolled     NO: run campuswatch-agent enroll');
    expect(s.stdout).toContain('answers');
    const once = await runCli('agent', ['once', '--config', configFile]);
    expect(once.code).toBe(1);
    expect(once.stderr).toContain('this agent is not enrolled');
    const bad = await runCli('agent', [
      'enroll',
      '--collector',
      w.url,
      '--code',
      'ABCDE-FGHJK-LMNPQ', // well formed, never issued (tests/agent/errors.test.ts: malformed ones)
      '--state',
      join(w.dir, 'agent-cli'),
    ]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toBe(
      'error: enrolment refused (HTTP 403): unknown enrolment code: this collector never issued it; check the code against what enroll-code printed, and the URL against the collector that printed it\n',
    );
  });

  it('probe bandwidth --config before enrolment: both directions fail naming the state directory and the fix', async () => {
    const r = await runCli('agent', ['probe', 'bandwidth', '--config', configFile, '--duration', '1']);
    expect(r.code, r.stderr).toBe(3);
    const state = join(w.dir, 'agent-cli');
    const why = `this agent is not enrolled: no identity in ${state}; run 'campuswatch-agent enroll --collector URL --code CODE --state ${state}'`;
    expect(r.stdout.split('\n').slice(0, 3)).toEqual([
      `FAILED   speed test download: error (${why})`,
      `FAILED   speed test upload: error (${why})`,
      '2 problems on 2 checks',
    ]);
  });

  it('enroll, once, status: delivered, with the last cycle in brief', async () => {
    const { code } = sqliteOf(w.app!).createEnrollCode(XINGHAI.id, 60_000);
    const e = await runCli('agent', [
      'enroll',
      '--collector',
      w.url,
      '--code',
      code,
      '--state',
      join(w.dir, 'agent-cli'),
    ]);
    expect(e.code).toBe(0);
    expect(e.stdout).toMatch(/^enrolled as agent ag_\S+ for school sz-xinghai-junior\n$/);
    const once = await runCli('agent', ['once', '--config', configFile]);
    expect(once.code).toBe(0);
    expect(once.stdout).toMatch(/^report [0-9a-f-]{36}: 1 results; delivered 1, spooled 0\n$/);
    const s = await runCli('agent', ['status', '--config', configFile]);
    expect(s.code).toBe(0);
    expect(s.stdout).toContain('results      1 ok');
    expect(s.stdout).toContain('spool        0 waiting, 1 delivered, 0 dropped, 0 refused');
    expect(s.stdout).toMatch(/last sent {4}\d{4}-\d\d-\d\dT/);
    const json = await runCli('agent', ['status', '--config', configFile, '--json']);
    expect(JSON.parse(json.stdout)).toMatchObject({
      enrolled: true,
      collector: 'answers',
      spool: { depth: 0 },
    });
  });

  it('probe bandwidth --json prints one object with the speed-test figures', async () => {
    const r = await runCli('agent', [
      'probe',
      'bandwidth',
      '--server',
      w.url,
      '--token-file',
      join(w.dir, 'agent-cli', 'token'),
      '--streams',
      '2',
      '--duration',
      '1',
      '--json',
    ]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as Record<string, number | string | null>;
    expect(out.outcome).toBe('ok');
    for (const k of [
      'download_mbps',
      'upload_mbps',
      'streams',
      'duration_s',
      'rtt_idle_ms',
      'rtt_loaded_ms',
    ]) {
      expect(typeof out[k], k).toBe('number');
    }
    expect(out.download_mbps as number).toBeGreaterThan(0);
    expect(out.streams as number).toBeGreaterThanOrEqual(2);
    const text = await runCli('agent', [
      'probe',
      'bandwidth',
      '--server',
      w.url,
      '--token-file',
      join(w.dir, 'agent-cli', 'token'),
      '--duration',
      '1',
    ]);
    expect(text.code, text.stdout + text.stderr).toBe(0);
    expect(text.stdout).toMatch(/^download +[\d.]+ Mbps/m);
    expect(text.stdout.split('\n')[0]).toBe('no problems on 2 checks');
    const bad = await runCli('agent', [
      'probe',
      'bandwidth',
      '--server',
      w.url,
      '--token-file',
      '/nonexistent',
      '--json',
    ]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toBe('cannot read the token file /nonexistent: ENOENT\n');
  });

  it("probe bandwidth --config runs the configured probe: the collector's speed test with the enrolled token", async () => {
    const r = await runCli('agent', [
      'probe',
      'bandwidth',
      '--config',
      configFile,
      '--streams',
      '2',
      '--duration',
      '1',
      '--json',
    ]);
    expect(r.stderr).toBe('');
    expect(r.code, r.stdout).toBe(0);
    const out = JSON.parse(r.stdout) as {
      method: string;
      target: string;
      outcome: string;
      results: unknown[];
    };
    expect(out).toMatchObject({ method: 'http', target: new URL(w.url).host, outcome: 'ok' });
    expect(out.results).toHaveLength(2);
    expect((out as unknown as Record<string, number>).download_mbps).toBeGreaterThan(0);
  });

  it('with the collector away, once still exits 0 and keeps the report spooled', async () => {
    await w.stopCollector();
    const once = await runCli('agent', ['once', '--config', configFile]);
    expect(once.code).toBe(0);
    expect(once.stdout).toMatch(/delivered 0, spooled 1 \(collector: /);
    const s = await runCli('agent', ['status', '--config', configFile]);
    expect(s.code).toBe(1);
    expect(s.stdout).toContain('does not answer');
    expect(s.stdout).toContain('spool        1 waiting');
  });

  it('bad config exits 2 with the field named', async () => {
    const r = await runCli('agent', [
      'check-config',
      '--config',
      'tests/fixtures/config/agent-wrong-type.yaml',
    ]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('tests/fixtures/config/agent-wrong-type.yaml: cycle.intervalS: must be integer\n');
  });
});

describe('campuswatch-agent check-config: room and device types', () => {
  const fixture = (name: string) => `tests/fixtures/config/${name}`;

  it.each([
    [
      'agent-inventory-room-type-typo.yaml',
      'rooms[0].type: unknown room type "recroding" (did you mean "recording"?)',
    ],
    [
      'agent-inventory-unknown-type.yaml',
      'rooms[0].devices[0].type: unknown device type "recoder" (did you mean "recorder"?)',
    ],
    [
      'agent-inventory-room-type-unknown.yaml',
      'rooms[0].type: unknown room type "xyz" (known: recording, smart, classroom, lab, office, library, core, ap, other, 报告厅; declare custom ones in inventory.customRoomTypes)',
    ],
  ])('%s: exits 2 and prints exactly the path and the suggestion', async (file, message) => {
    const r = await runCli('agent', ['check-config', '--config', fixture(file)]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(`${fixture(file)}: ${message}\n`);
  });

  it('custom types declared in the config load; the summary names each device type and where its checks come from', async () => {
    const r = await runCli('agent', [
      'check-config',
      '--config',
      fixture('agent-inventory-custom-types.yaml'),
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/一号报告厅\s+报告厅\s+讲台\s+lectern\s+10\.203\.5\.10\s+icmp\s+yes\s+custom\n/);
    expect(r.stdout).toMatch(
      /一号报告厅\s+报告厅\s+调音台\s+mixer\s+10\.203\.5\.11\s+tcp\/9000\s+yes\s+inventory\n/,
    );
    expect(r.stdout).toMatch(
      /广播室\s+broadcast\s+广播主机 1\s+广播主机\s+10\.203\.6\.10\s+icmp tcp\/8080\s+yes\s+custom\n/,
    );
  });
});
