// How `campuswatch-agent probe bandwidth` shows one direction of the speed test: its rate, or why it failed.
import type { BandwidthResult } from '../../../../protocol/report.js';
import type { ResultPrinter } from '../print.js';

export const printBandwidth: ResultPrinter<BandwidthResult> = (r, _lang, out) => {
  out.lines.push(
    r.outcome === 'ok'
      ? { problem: false, text: `ok       ${r.direction} ${r.mbps} Mbps` }
      : {
          problem: true,
          text: `FAILED   ${r.direction}: ${r.outcome}${r.error ? ` (${r.error})` : ''}`,
        },
  );
};
