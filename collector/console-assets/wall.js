// campuswatch wall display (/wall): fetches the wall's figures (data-api) every data-refresh seconds and
// writes them into the page the server rendered, in place: no reload. Text only (textContent, createElement,
// the page's own <template>s): school names and alert titles are data, never markup.

(() => {
  const body = document.body;
  const refreshMs = Math.max(2, Number(body.dataset.refresh) || 30) * 1000;
  const api = body.dataset.api || '/api/v1/wall';
  const lang = body.dataset.lang === 'en' ? 'en' : 'zh';
  const tz = body.dataset.tz || 'Asia/Shanghai';
  const words = document.getElementById('wall-words')?.dataset ?? {};
  const locale = lang === 'zh' ? 'zh-CN' : 'en-GB';

  const field = (root, name) => root.querySelector(`[data-field="${name}"]`);
  const setText = (root, name, text) => {
    const el = field(root, name);
    if (el && el.textContent !== text) el.textContent = text;
  };
  const num = (v, digits) =>
    v === null || v === undefined || Number.isNaN(v)
      ? '—'
      : v.toLocaleString(locale, { maximumFractionDigits: digits, minimumFractionDigits: 0 });
  const pct = (v) => (v === null || v === undefined ? '—' : `${num(v, 1)}%`);
  const fill = (template, n) => (n > 0 ? String(template || '').replace('{n}', String(n)) : '');

  // the same format as the server's (wall-page.ts timeIn)
  const timeFormat = new Intl.DateTimeFormat('en-CA', {
    timeZone: tz,
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
    hourCycle: 'h23',
  });
  function timeIn(iso, withSeconds) {
    const d = new Date(iso);
    if (Number.isNaN(d.getTime())) return '—';
    const p = {};
    for (const x of timeFormat.formatToParts(d)) p[x.type] = x.value;
    return withSeconds ? `${p.hour}:${p.minute}:${p.second}` : `${p.month}-${p.day} ${p.hour}:${p.minute}`;
  }

  // the targets' names as the page shows them (the KPI tiles carry them)
  const labels = new Map();
  for (const tile of document.querySelectorAll('.wall-kpi[data-target]')) {
    labels.set(tile.dataset.target, tile.dataset.label || tile.dataset.target);
  }
  const targetNames = (names) => names.map((n) => labels.get(n) || n).join(lang === 'zh' ? '、' : ', ');

  function renderKpis(kpis) {
    for (const k of kpis) {
      const tile = document.querySelector(`.wall-kpi[data-target="${CSS.escape(k.target)}"]`);
      if (!tile) continue;
      setText(tile, 'pct', pct(k.pct));
      setText(tile, 'goalPct', k.goalPct === null ? '—' : `${num(k.goalPct, 1)}%`);
      setText(tile, 'met', String(k.met));
      setText(tile, 'schools', String(k.schools));
      setText(
        tile,
        'verdict',
        k.goalMet === null ? words.noGoal : k.goalMet ? words.goalMet : words.goalNotMet,
      );
      tile.classList.toggle('goal-met', k.goalMet === true);
      tile.classList.toggle('goal-not-met', k.goalMet === false);
      tile.classList.toggle('no-goal', k.goalMet === null);
    }
  }

  function fromTemplate(id) {
    const t = document.getElementById(id);
    return t.content.firstElementChild.cloneNode(true);
  }

  function renderLagging(w) {
    const rows = w.lagging.map((r, i) => {
      const tr = fromTemplate('wall-lagging-row');
      tr.dataset.school = r.id;
      setText(tr, 'rank', String(i + 1));
      setText(tr, 'name', r.name);
      setText(tr, 'met', String(r.met));
      setText(tr, 'notMet', targetNames(r.notMet) || '—');
      setText(tr, 'noData', String(r.noData.length));
      return tr;
    });
    document.getElementById('wall-lagging').replaceChildren(...rows);
    field(document, 'laggingEmpty').hidden = w.laggingTotal > 0;
    setText(document, 'laggingMore', fill(words.moreSchools, w.laggingTotal - w.lagging.length));
  }

  function renderAlerts(w) {
    const items = w.alerts.map((a) => {
      const li = fromTemplate('wall-alert-item');
      li.dataset.alert = a.fingerprint;
      li.dataset.school = a.schoolId;
      li.dataset.severity = a.severity;
      const sev = field(li, 'severity');
      sev.className = `state ${a.severity}`;
      sev.textContent = words[a.severity] || a.severity;
      setText(li, 'title', lang === 'zh' ? a.title.zh : a.title.en);
      setText(li, 'school', a.schoolName);
      const at = field(li, 'firedAt');
      at.dateTime = a.firedAt;
      at.textContent =
        lang === 'zh'
          ? `${timeIn(a.firedAt, false)} ${words.since}`
          : `${words.since} ${timeIn(a.firedAt, false)}`;
      return li;
    });
    document.getElementById('wall-alerts').replaceChildren(...items);
    field(document, 'alertsEmpty').hidden = w.alertsTotal > 0;
    setText(document, 'alertsMore', fill(words.moreAlerts, w.alertsTotal - w.alerts.length));
  }

  function renderHead(w) {
    setText(document, 'agentsReporting', String(w.agents.reporting));
    setText(document, 'agentsTotal', String(w.agents.total));
    const agents = document.querySelector('[data-stat="agents"]');
    agents?.classList.toggle('ok', w.agents.reporting === w.agents.total);
    agents?.classList.toggle('warn', w.agents.reporting !== w.agents.total);
    setText(document, 'alertsTotal', String(w.alertsTotal));
    const alerts = document.querySelector('[data-stat="alerts"]');
    alerts?.classList.toggle('bad', w.alertsTotal > 0);
    alerts?.classList.toggle('ok', w.alertsTotal === 0);
    setText(document, 'schools', String(w.schools));
    const at = field(document, 'generatedAt');
    at.dateTime = w.generatedAt;
    at.textContent = timeIn(w.generatedAt, true);
  }

  function render(w) {
    renderHead(w);
    renderKpis(w.kpis);
    renderLagging(w);
    renderAlerts(w);
  }

  /** Figures older than the last good answer: the screen says so rather than look current. */
  function setStale(message) {
    body.classList.toggle('wall-stale', message !== '');
    setText(document, 'status', message);
  }

  async function refresh() {
    try {
      const res = await fetch(api, {
        headers: { accept: 'application/json' },
        credentials: 'same-origin',
        cache: 'no-store',
      });
      if (res.status === 401 || res.status === 403) {
        setStale(words.refused || String(res.status));
        return;
      }
      if (!res.ok) {
        setStale(words.stale || String(res.status));
        return;
      }
      render(await res.json());
      setStale('');
    } catch (_) {
      setStale(words.stale || 'offline');
    } finally {
      setTimeout(refresh, refreshMs);
    }
  }

  // the server rendered the figures of now: the first fetch is one interval later
  setTimeout(refresh, refreshMs);
})();
