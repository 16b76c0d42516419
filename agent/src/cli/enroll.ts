// `campuswatch-agent enroll`: a one-time code for this agent's token.
import type { Command } from 'commander';
import { UsageError } from '../../../protocol/cli.js';
import { isLoopbackHost } from '../../../protocol/config-error.js';
import { parseEnrollCode } from '../../../protocol/enroll-code.js';
import { collectorUrlProblem } from '../../../protocol/url-check.js';
import { enroll } from '../identity.js';
import { readCaFileOrUsage } from './common.js';

export function registerEnroll(program: Command): void {
  program
    .command('enroll')
    .description('exchange a one-time enrolment code for this agent token (stored with mode 0600)')
    .requiredOption('--collector <url>', 'collector URL, e.g. https://collector.example.edu.cn')
    .requiredOption('--code <code>', 'one-time code from `campuswatch-collector enroll-code`')
    .requiredOption('--state <dir>', 'state directory (token, spool); the same as `state:` in agent.yaml')
    .option('--ca-file <file>', 'PEM CA certificate(s) to trust for the collector (as collector.caFile)')
    .option(
      '--allow-plain-http',
      'allow an http:// collector that is not on loopback (the code travels in clear)',
    )
    .option('--force', 'replace the token of an agent that is already enrolled (its old token stops working)')
    .action(
      async (opts: {
        collector: string;
        code: string;
        state: string;
        caFile?: string;
        allowPlainHttp?: boolean;
        force?: boolean;
      }) => {
        const urlProblem = collectorUrlProblem(opts.collector);
        if (urlProblem) throw new UsageError(`--collector: ${urlProblem}`);
        const url = new URL(opts.collector);
        const code = parseEnrollCode(opts.code);
        if (!code.ok)
          throw new UsageError(
            `--code: ${code.message}; retype it as 'campuswatch-collector enroll-code' printed it`,
          );
        if (url.protocol === 'http:' && !opts.allowPlainHttp && !isLoopbackHost(url.hostname)) {
          throw new UsageError(
            `--collector ${opts.collector}: plain HTTP to a non-loopback host sends the enrolment code and the token in clear text; use https:// or --allow-plain-http`,
          );
        }
        const ca = opts.caFile ? readCaFileOrUsage(opts.caFile, '--ca-file') : undefined;
        const identity = await enroll({
          collectorUrl: opts.collector,
          code: code.code,
          stateDir: opts.state,
          ...(ca && opts.caFile ? { ca, caFile: opts.caFile } : {}),
          ...(opts.force ? { force: true } : {}),
        });
        process.stdout.write(`enrolled as agent ${identity.agentId} for school ${identity.schoolId}\n`);
      },
    );
}
