#!/usr/bin/env node
// Helper of deploy/install-agent.sh, run from the installed package (/opt/campuswatch/deploy/lib) so that
// `yaml` resolves from its production node_modules.
//   create --template FILE --out FILE --school-id ID --school-name NAME --collector URL --state DIR
//          [--district D] [--group G] [--tier T] [--pupils N] [--area A] [--ca-file FILE] [--allow-plain-http]
//       writes a new agent.yaml from config/agent.example.yaml (keeping its comments), without the
//       example's rooms (they point at 127.0.0.1 and would make any school look compliant)
//   get FILE DOTTED.PATH
//       prints one value of a YAML (or JSON) file, or nothing when it is absent
import { readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { parse, parseDocument } from 'yaml';

function fail(message) {
  process.stderr.write(`agent-config: ${message}\n`);
  process.exit(2);
}

function create(argv) {
  const { values: o } = parseArgs({
    args: argv,
    options: {
      template: { type: 'string' },
      out: { type: 'string' },
      'school-id': { type: 'string' },
      'school-name': { type: 'string' },
      district: { type: 'string' },
      group: { type: 'string' },
      tier: { type: 'string' },
      pupils: { type: 'string' },
      area: { type: 'string' },
      collector: { type: 'string' },
      state: { type: 'string' },
      'ca-file': { type: 'string' },
      'allow-plain-http': { type: 'boolean' },
    },
    strict: true,
  });
  for (const k of ['template', 'out', 'school-id', 'school-name', 'collector', 'state']) {
    if (!o[k]) fail(`--${k} is required`);
  }
  const doc = parseDocument(readFileSync(o.template, 'utf8'));
  if (doc.errors.length > 0) fail(`${o.template}: ${doc.errors[0].message}`);

  const school = { id: o['school-id'], name: o['school-name'] };
  if (o.district) school.district = o.district;
  if (o.group) school.group = o.group;
  if (o.tier) school.tier = o.tier;
  if (o.pupils) {
    if (!/^\d+$/.test(o.pupils)) fail('--pupils must be a whole number');
    school.pupils = Number(o.pupils);
  }
  if (o.area) school.area = o.area;
  school.timezone = doc.getIn(['school', 'timezone']) ?? 'Asia/Shanghai';
  doc.set('school', doc.createNode(school));

  doc.setIn(['collector', 'url'], o.collector);
  if (o['ca-file']) {
    doc.setIn(['collector', 'caFile'], o['ca-file']);
    // the example's commented-out caFile line would now contradict the real one
    const next = doc.getIn(['collector'], true)?.items?.find((p) => p.key?.value === 'requestTimeoutS');
    if (next?.key?.commentBefore?.includes('caFile')) next.key.commentBefore = undefined;
  }
  if (o['allow-plain-http']) doc.setIn(['collector', 'allowPlainHttp'], true);
  doc.set('state', o.state);

  const rooms = doc.createPair('rooms', []);
  rooms.key = doc.createNode('rooms');
  rooms.key.spaceBefore = true;
  rooms.key.commentBefore = [
    " Rooms and devices: describe this school's recording rooms, smart classrooms and network core here",
    ' (every option is explained in /opt/campuswatch/config/agent.example.yaml), then run',
    `   campuswatch-agent check-config --config ${o.out}`,
    '   systemctl restart campuswatch-agent',
    ' e.g.',
    '   - name: 录播室 1',
    '     type: recording',
    '     devices:',
    '       - { name: 录播主机 A1, type: recorder, address: 10.1.2.3 }',
  ].join('\n');
  doc.delete('rooms');
  doc.add(rooms);

  doc.commentBefore = [
    ` campuswatch agent configuration of ${o['school-id']}, created by deploy/install-agent.sh on ${new Date().toISOString().slice(0, 10)}`,
    ' from config/agent.example.yaml. Kept by the school IT officer: re-running the installer never overwrites it.',
    ' Check it with: campuswatch-agent check-config --config <this file>',
    ` Secrets (SNMP communities and keys) can stay out of this file: \${env:NAME} reads the environment`,
    ` (/etc/campuswatch/agent.env for the systemd unit), \${file:/path} reads a file.`,
  ].join('\n');
  writeFileSync(o.out, doc.toString({ lineWidth: 0 }), { mode: 0o640 });
}

function get(argv) {
  const [file, path] = argv;
  if (!file || !path) fail('usage: get FILE DOTTED.PATH');
  let value = parse(readFileSync(file, 'utf8')) ?? {};
  for (const key of path.split('.')) value = value === null || value === undefined ? undefined : value[key];
  if (value !== undefined && value !== null) process.stdout.write(String(value));
}

const [command, ...rest] = process.argv.slice(2);
if (command === 'create') create(rest);
else if (command === 'get') get(rest);
else fail(`unknown command ${JSON.stringify(command ?? '')}: create | get`);
