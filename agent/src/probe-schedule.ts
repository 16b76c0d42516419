import type { ProbeName } from '../../protocol/report.js';
import { zonedDateTime } from '../../protocol/zoned-time.js';
import type { AgentConfig } from './config.js';
import { localMinutes, speedtestSlot } from './scheduler.js';

/** 45 s, 5 min, 1 h 30 min, 24 h. */
export function durationText(seconds: number): string {
  if (seconds < 60 || seconds % 60 !== 0) return `${seconds} s`;
  const min = seconds / 60;
  if (min < 60) return `${min} min`;
  const h = Math.floor(min / 60);
  return min % 60 === 0 ? `${h} h` : `${h} h ${min % 60} min`;
}

const hhmm = (minutes: number) =>
  `${String(Math.floor((minutes % 1440) / 60)).padStart(2, '0')}:${String(minutes % 60).padStart(2, '0')}`;

/** `2026-12-07 02:37` in the time zone. */
export function localTime(ms: number, timeZone: string): string {
  return zonedDateTime(ms, timeZone);
}

/** When the scheduler will next start the school's speed test (the scheduler's own window and offset). */
export interface SpeedtestNext {
  /** The school's start in the window, school time (HH:MM). */
  at: string;
  /** The window is open past the school's offset now: the next cycle runs it (once per window). */
  openNow: boolean;
  /** Otherwise: the next start, epoch ms (the first cycle at or after it runs the test). */
  nextMs: number;
}

export function nextSpeedtest(config: AgentConfig, nowMs: number): SpeedtestNext {
  const tz = config.school.timezone;
  const { start, length, offset } = speedtestSlot(config.school.id, config.probes.bandwidth.window);
  const target = (start + offset) % 1440;
  const sinceStart = (localMinutes(nowMs, tz) - start + 1440) % 1440;
  const openNow = sinceStart >= offset && sinceStart < length;
  // the next local minute that reads `target` (a daylight-saving shift is corrected by stepping)
  let next = Math.floor(nowMs / 60_000) * 60_000;
  for (let i = 0; i < 4; i++) {
    const delta = (target - localMinutes(next, tz) + 1440) % 1440;
    if (delta === 0 && next > nowMs) break;
    next += (delta === 0 ? 1440 : delta) * 60_000;
  }
  return { at: hhmm(target), openNow, nextMs: next };
}

/** Each probe's schedule in words, for check-config: its interval, and for the speed test its window and next run. */
export function probeSchedules(config: AgentConfig, nowMs: number): Record<ProbeName, string> {
  const out = {} as Record<ProbeName, string>;
  const cycleS = config.cycle.intervalS;
  for (const [name, p] of Object.entries(config.probes) as [
    ProbeName,
    { enabled: boolean; intervalS: number },
  ][]) {
    let text: string;
    if (name === 'bandwidth') {
      const bw = config.probes.bandwidth;
      const next = nextSpeedtest(config, nowMs);
      const when = `nightly in ${bw.window.start}-${bw.window.end} ${config.school.timezone}, this school at ${next.at}`;
      text = !p.enabled
        ? `off (would run ${when})`
        : `${when}; next ${next.openNow ? 'at the next cycle (its window is open now)' : localTime(next.nextMs, config.school.timezone)}`;
    } else if (!p.enabled) text = 'off';
    else if (p.intervalS < cycleS)
      text = `every cycle (${durationText(cycleS)}: intervalS ${p.intervalS} is shorter than cycle.intervalS)`;
    else text = `every ${durationText(p.intervalS)}`;
    out[name] = text;
  }
  return out;
}
