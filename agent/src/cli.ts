#!/usr/bin/env node
// campuswatch-agent: the program and its commands, one module each under cli/ (each loads what it needs
// when it runs: `--help`, `enroll` and `probe bandwidth` start in a fraction of the time and memory of the daemon).
import { EXIT_USAGE, newProgram, runProgram } from '../../protocol/cli.js';
import { addLogFormatOption } from '../../protocol/log-format.js';
import { PACKAGE_VERSION } from '../../protocol/version.js';
import { registerCheckConfig } from './cli/check-config.js';
import { registerEnroll } from './cli/enroll.js';
import { registerProbe } from './cli/probe.js';
import { registerRun } from './cli/run.js';
import { registerSpool } from './cli/spool.js';
import { registerStatus } from './cli/status.js';

const program = newProgram(
  'campuswatch-agent',
  'School-side agent: probes the campus network and reports to the campuswatch collector.',
  PACKAGE_VERSION,
);
addLogFormatOption(program);

registerEnroll(program);
registerRun(program);
registerProbe(program);
registerCheckConfig(program);
registerStatus(program);
registerSpool(program);

if (process.argv.length <= 2) {
  program.outputHelp();
  process.exit(EXIT_USAGE);
}
await runProgram(program);
