/**
 * The school page's speed-test chart: an inline SVG drawn on the server (no script, no CSP exception),
 * down and up Mbps of the last tests with a horizontal line at the tier's goal. A screen reader gets the
 * chart's summary from its label and title; the figures are in the table next to it. Pure.
 */
import { type Html, html } from './html.js';
import { type Lang, localDateTime, num, tr } from './i18n.js';
import type { SchoolSpeedTests } from './school-model.js';

const W = 560;
const H = 250;
const LEFT = 56;
const RIGHT = 16;
const TOP = 36;
const BOTTOM = 34;
const PLOT_W = W - LEFT - RIGHT;
/** Where the legend starts: clear of the unit above the y axis, also with a phone's larger words. */
const LEGEND = LEFT + 30;
const PLOT_H = H - TOP - BOTTOM;
const DOWN_COLOUR = '#1d4ed8';
const UP_COLOUR = '#c2410c';
const GOAL_COLOUR = '#b91c1c';

const L = {
  down: { zh: '下行', en: 'down' },
  up: { zh: '上行', en: 'up' },
  goal: { zh: '目标', en: 'goal' },
  failed: { zh: '测速失败', en: 'test failed' },
  summary: {
    zh: (n: number, down: string, up: string, goal: string) =>
      `出口带宽测速：最近 ${n} 次，最新一次下行 ${down}、上行 ${up}，目标 ${goal}`,
    en: (n: number, down: string, up: string, goal: string) =>
      `Uplink speed tests: the last ${n}; the newest ${down} down and ${up} up; goal ${goal}`,
  },
} as const;

/** Tops of the y axis (× 10ⁿ) whose quarters, where the grid lines are, are round numbers too. */
const NICE = [1, 1.2, 1.6, 2, 2.4, 3, 4, 5, 6, 8, 10];

/** The smallest NICE × 10ⁿ at or above x (the top of the y axis). */
export function niceCeil(x: number): number {
  if (!(x > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(x));
  // rounded: 1.2 × 100 is 120.00000000000001 in binary
  for (const m of NICE) if (m * p >= x) return Number((m * p).toPrecision(12));
  return 10 * p;
}

const mbps = (lang: Lang, v: number | null) => (v === null ? '—' : `${num(lang, v, 1)} Mbps`);
const fixed = (v: number) => Math.round(v * 10) / 10;

/** The chart of `st.tests` (oldest first); the caller shows an empty note when there are none. */
export function speedChart(lang: Lang, st: SchoolSpeedTests, timeZone: string): Html {
  const tests = st.tests;
  const n = tests.length;
  const values = tests.flatMap((t) => [t.downMbps ?? 0, t.upMbps ?? 0]);
  const top = niceCeil(Math.max(st.goalMbps, ...values) * 1.1);
  const x = (i: number) => fixed(LEFT + (n <= 1 ? PLOT_W / 2 : (i * PLOT_W) / (n - 1)));
  const y = (v: number) => fixed(TOP + PLOT_H - (Math.min(v, top) / top) * PLOT_H);
  const ticks = [0, 0.25, 0.5, 0.75, 1].map((f) => top * f);
  const line = (key: 'downMbps' | 'upMbps') =>
    tests
      .map((t, i) => (t[key] === null ? null : `${x(i)},${y(t[key])}`))
      .filter((p): p is string => p !== null)
      .join(' ');
  const newest = tests.at(-1);
  const label = tr(lang, {
    zh: L.summary.zh(
      n,
      mbps(lang, newest?.downMbps ?? null),
      mbps(lang, newest?.upMbps ?? null),
      mbps(lang, st.goalMbps),
    ),
    en: L.summary.en(
      n,
      mbps(lang, newest?.downMbps ?? null),
      mbps(lang, newest?.upMbps ?? null),
      mbps(lang, st.goalMbps),
    ),
  });
  const day = (iso: string) => localDateTime(iso, timeZone).slice(5, 10);
  const xLabels = n === 0 ? [] : n === 1 ? [0] : n === 2 ? [0, 1] : [0, Math.floor((n - 1) / 2), n - 1];
  const goalY = y(st.goalMbps);
  return html`<svg class="chart school-chart" role="img" aria-label="${label}" viewBox="0 0 ${W} ${H}" xmlns="http://www.w3.org/2000/svg" data-chart="speedtests" font-size="13"><title>${label}</title>
<g data-part="axes" stroke="#d1d5db" stroke-width="1">${ticks.map(
    (t) => html`<line x1="${LEFT}" x2="${W - RIGHT}" y1="${y(t)}" y2="${y(t)}"/>`,
  )}</g>
<g data-part="y-labels" fill="#4b5563" text-anchor="end">${ticks.map(
    (t) => html`<text x="${LEFT - 6}" y="${y(t) + 4}">${num(lang, t, 2)}</text>`,
  )}<text x="4" y="${TOP - 12}" text-anchor="start">Mbps</text></g>
<g data-part="x-labels" fill="#4b5563" text-anchor="middle">${xLabels.map(
    // the first and last labels inside the plot's ends (a middle anchor would cut them off)
    (i) =>
      html`<text x="${x(i)}" y="${H - 12}"${n > 1 && i === 0 ? html` text-anchor="start"` : n > 1 && i === n - 1 ? html` text-anchor="end"` : ''}>${day(tests[i]!.at)}</text>`,
  )}</g>
<line data-line="goal" data-value="${st.goalMbps}" x1="${LEFT}" x2="${W - RIGHT}" y1="${goalY}" y2="${goalY}" stroke="${GOAL_COLOUR}" stroke-width="2" stroke-dasharray="7 4"/>
<text x="${W - RIGHT}" y="${goalY - 6}" text-anchor="end" fill="${GOAL_COLOUR}">${tr(lang, L.goal)} ${num(lang, st.goalMbps)} Mbps</text>
<polyline data-series="down" points="${line('downMbps')}" fill="none" stroke="${DOWN_COLOUR}" stroke-width="2"/>
<polyline data-series="up" points="${line('upMbps')}" fill="none" stroke="${UP_COLOUR}" stroke-width="2" stroke-dasharray="2 3"/>
${tests.map((t, i) => {
  const when = localDateTime(t.at, timeZone);
  const tip = `${when} ${tr(lang, L.down)} ${mbps(lang, t.downMbps)} · ${tr(lang, L.up)} ${mbps(lang, t.upMbps)}${t.error ? ` · ${tr(lang, L.failed)}` : ''}`;
  return html`<g data-test="${i}" data-at="${t.at}"><title>${tip}</title>${
    t.downMbps !== null
      ? html`<circle data-series="down" data-value="${t.downMbps}" cx="${x(i)}" cy="${y(t.downMbps)}" r="4.5" fill="${DOWN_COLOUR}"/>`
      : ''
  }${
    t.upMbps !== null
      ? html`<rect data-series="up" data-value="${t.upMbps}" x="${x(i) - 4}" y="${y(t.upMbps) - 4}" width="8" height="8" fill="${UP_COLOUR}"/>`
      : ''
  }${
    t.downMbps === null && t.upMbps === null
      ? html`<path data-series="failed" d="M${x(i) - 5},${y(0) - 5} l10,10 m0,-10 l-10,10" stroke="${GOAL_COLOUR}" stroke-width="2"/>`
      : ''
  }</g>`;
})}
<g data-part="legend" fill="#1f2937"><circle cx="${LEGEND + 6}" cy="${TOP - 16}" r="4.5" fill="${DOWN_COLOUR}"/><text x="${LEGEND + 16}" y="${TOP - 12}">${tr(lang, L.down)}</text><rect x="${LEGEND + 74}" y="${TOP - 20}" width="8" height="8" fill="${UP_COLOUR}"/><text x="${LEGEND + 88}" y="${TOP - 12}">${tr(lang, L.up)}</text><line x1="${LEGEND + 146}" x2="${LEGEND + 170}" y1="${TOP - 16}" y2="${TOP - 16}" stroke="${GOAL_COLOUR}" stroke-width="2" stroke-dasharray="7 4"/><text x="${LEGEND + 176}" y="${TOP - 12}">${tr(lang, L.goal)}</text></g>
</svg>`;
}
