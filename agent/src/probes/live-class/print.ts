// How `campuswatch-agent probe live-class` shows the train to the platform: its delay, jitter and loss, and
// which limits they are over (or that no echo came back).
import { type LiveClassResult, liveClassOverLimits } from '../../../../protocol/report.js';
import type { ResultPrinter } from '../print.js';

export const printLiveClass: ResultPrinter<LiveClassResult> = (r, _lang, out) => {
  const over = liveClassOverLimits(r);
  const numbers = `${r.target} (${r.transport} ${r.host}:${r.port}): one-way ${r.oneWayMs ?? '-'} ms, jitter ${r.jitterMs ?? '-'} ms, loss ${r.lossPct}%`;
  out.lines.push({
    problem: over.length > 0,
    text: `${over.length > 0 ? 'OVER    ' : 'ok      '} ${numbers}${over.length > 0 ? `: ${over.join(', ')}` : ''}`,
  });
};
