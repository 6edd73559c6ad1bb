// The gatekit dashboard: one WebSocket (/live) brings the history, then a point and the
// status every second; buttons call the admin API. No build step, no network beyond gatekit.
/* global uPlot */
'use strict';

const KEEP = 900; // points: 15 minutes at one a second
const state = { points: [], status: null, token: sessionStorage.getItem('gatekit-token') || '', charts: {}, keys: null }; // keys: the routes the charts were made for (null: none made yet)
const $ = (sel) => document.querySelector(sel);

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === 'class') e.className = v;
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v);
  }
  for (const c of children) e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return e;
}

const ms = (s) => (s == null ? '–' : s < 1 ? `${(s * 1000).toFixed(s < 0.01 ? 2 : 1)} ms` : `${s.toFixed(2)} s`);
const mb = (b) => (b == null ? '–' : `${(b / 1048576).toFixed(1)} MB`);

/** api calls the admin API with the token; a change sends a JSON body, as the API requires. */
async function api(method, path, body) {
  const headers = state.token ? { authorization: `Bearer ${state.token}` } : {};
  if (method === 'POST') headers['content-type'] = 'application/json';
  const r = await fetch(path, { method, headers, body: method === 'POST' ? JSON.stringify(body || {}) : undefined });
  if (r.status === 401) {
    askToken();
    throw new Error('the admin token is needed');
  }
  return { status: r.status, json: await r.json() };
}

function askToken() {
  $('#login').hidden = false;
  $('#token').focus();
}

function connect() {
  const ws = new WebSocket(`${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/live`);
  ws.onopen = () => {
    if (state.token) ws.send(JSON.stringify({ token: state.token }));
  };
  ws.onmessage = (e) => {
    const m = JSON.parse(e.data);
    $('#live').classList.add('on');
    if (m.type === 'hello') {
      state.points = m.history.slice(-KEEP);
      if (m.status) state.status = m.status;
    } else if (m.type === 'tick') {
      state.points.push(m.point);
      if (state.points.length > KEEP) state.points.shift();
      state.status = m.status;
    }
    render();
  };
  ws.onclose = (e) => {
    $('#live').classList.remove('on');
    if (e.code === 4401) {
      askToken();
      return;
    }
    setTimeout(connect, 1000);
  };
}

/** routeKeys lists every server and route seen in the points, in a stable order. */
function routeKeys() {
  const keys = new Set();
  for (const p of state.points) for (const k of Object.keys(p.routes)) keys.add(k);
  return [...keys].sort();
}

const COLORS = ['#2e90fa', '#f79009', '#12b76a', '#9e77ed', '#f04438', '#0ba5ec', '#ee46bc', '#667085'];
/** split reads a route key: server, then route ('' for requests no route served), with a tab between. */
const split = (k) => {
  const i = k.indexOf('\t');
  return [k.slice(0, i), k.slice(i + 1) || '(no route)'];
};
const label = (k) => split(k).join(' ');

function makeChart(id, series, unit) {
  const box = $(id);
  box.textContent = '';
  const opts = {
    width: box.clientWidth || 800,
    height: 220,
    series: [{}, ...series.map((s, i) => ({ label: s, stroke: COLORS[i % COLORS.length], width: 1.5, dash: s.endsWith('p99') ? [4, 3] : undefined }))],
    axes: [{}, { size: 80, values: (_u, ticks) => ticks.map((v) => (unit === 's' ? ms(v) : v)) }],
    scales: { x: { time: true } },
  };
  return new uPlot(opts, [[], ...series.map(() => [])], box);
}

function renderCharts() {
  const keys = routeKeys();
  const sig = keys.join('\n');
  if (sig !== state.keys) {
    state.keys = sig;
    state.charts.rps?.destroy();
    state.charts.lat?.destroy();
    state.charts.rps = makeChart('#chart-rps', keys.map(label), 'rps');
    state.charts.lat = makeChart(
      '#chart-latency',
      keys.flatMap((k) => [`${label(k)} p50`, `${label(k)} p99`]),
      's',
    );
  }
  const xs = state.points.map((p) => p.t / 1000);
  const at = (k, f) => state.points.map((p) => (p.routes[k] ? p.routes[k][f] : f === 'rps' ? 0 : null));
  state.charts.rps.setData([xs, ...keys.map((k) => at(k, 'rps'))]);
  state.charts.lat.setData([xs, ...keys.flatMap((k) => [at(k, 'p50'), at(k, 'p99')])]);
}

function renderCards() {
  const last = state.points[state.points.length - 1];
  const routes = last ? Object.values(last.routes) : [];
  $('#rps-total').textContent = routes.reduce((n, r) => n + r.rps, 0).toFixed(1);
  const worst = (f) => routes.reduce((m, r) => (r[f] != null && r[f] > m ? r[f] : m), 0);
  $('#latency-total').textContent = routes.length ? `${ms(worst('p50'))} · ${ms(worst('p99'))}` : '–';
  const ws = state.status ? state.status.workers : [];
  $('#requests-total').textContent = ws.reduce((n, w) => n + (w.requests || 0), 0);
  $('#inflight-total').textContent = ws.reduce((n, w) => n + (w.inFlight || 0), 0);
}

function fill(table, rows) {
  const body = $(`${table} tbody`);
  body.replaceChildren(...rows);
}

function renderCodes() {
  const sums = {};
  for (const p of state.points) {
    for (const [k, r] of Object.entries(p.routes)) {
      const s = (sums[k] ||= {});
      for (const [c, n] of Object.entries(r.codes)) s[c] = (s[c] || 0) + n;
    }
  }
  fill(
    '#codes',
    Object.entries(sums)
      .sort()
      .map(([k, s]) => {
        const [server, route] = split(k);
        return el(
          'tr',
          {},
          el('td', {}, server),
          el('td', {}, route),
          ...['1xx', '2xx', '3xx', '4xx', '5xx'].map((c) => el('td', { class: c === '5xx' && s[c] ? 'bad' : c === '4xx' && s[c] ? 'warn' : '' }, s[c] || 0)),
        );
      }),
  );
}

function renderStatus() {
  const s = state.status;
  if (!s) return;
  $('#summary').textContent = `${s.config.file} · generation ${s.config.generation} · v${s.version} · up ${s.uptimeSeconds}s · pid ${s.pid}`;
  fill(
    '#workers',
    s.workers.map((w) =>
      el(
        'tr',
        { 'data-pid': w.pid },
        el('td', {}, w.slot),
        el('td', {}, w.pid),
        el('td', {}, w.generation),
        el('td', { class: w.state === 'ready' ? 'ok' : 'warn' }, w.state),
        el('td', {}, w.requests),
        el('td', {}, w.inFlight ?? '–'),
        el('td', {}, mb(w.rssBytes)),
        el('td', {}, w.cpuSeconds == null ? '–' : `${w.cpuSeconds.toFixed(1)} s`),
        el('td', {}, w.loopDelayMs ? `${w.loopDelayMs.p99} ms` : '–'),
      ),
    ),
  );
  fill(
    '#upstreams',
    s.upstreams.map((u) =>
      el(
        'tr',
        { 'data-upstream': u.id },
        el('td', {}, u.id),
        el('td', {}, u.proxy),
        el(
          'td',
          { class: u.drained ? 'warn health' : u.healthy ? 'ok health' : 'bad health' },
          u.drained ? 'drained' : u.healthy ? 'healthy' : `down: ${u.reason}`,
        ),
        el('td', {}, u.inFlight),
        el('td', { class: 'requests' }, u.requests),
        el('td', {}, u.failures),
        el('td', {}, ms(u.meanLatencySeconds)),
        el(
          'td',
          {},
          el(
            'button',
            { type: 'button', class: u.drained ? 'enable' : 'drain', onclick: (e) => drain(e.target, u.id, !u.drained) },
            u.drained ? 'Enable' : 'Drain',
          ),
        ),
      ),
    ),
  );
  fill(
    '#pools',
    s.pools.map((p) =>
      el(
        'tr',
        {},
        el('td', {}, p.name),
        el('td', {}, p.kind),
        el('td', {}, `${p.processes.length}/${p.size} ${p.processes.map((x) => `${x.pid}:${x.state}`).join(' ')}`),
        el('td', {}, p.busy),
        el('td', {}, p.queue),
      ),
    ),
  );
  $('#reloads').replaceChildren(...s.reloads.map(reloadItem));
}

function reloadItem(r) {
  const cls = r.outcome === 'reloaded' ? 'ok' : 'bad';
  const diags = r.diagnostics.filter((d) => d.severity === 'error' || r.outcome !== 'reloaded');
  return el(
    'li',
    {},
    el('span', { class: cls }, r.outcome),
    ` ${new Date(r.at).toLocaleTimeString()}`,
    r.reason ? ` — ${r.reason}` : '',
    ...diags.map((d) => el('pre', {}, `${d.file}:${d.line}:${d.column}: ${d.severity}: ${d.message}${d.help ? `\n  help: ${d.help}` : ''}`)),
  );
}

async function drain(button, id, drained) {
  button.disabled = true;
  try {
    await api('POST', `/upstreams/${encodeURIComponent(id)}/${drained ? 'drain' : 'enable'}`);
    const r = await api('GET', '/status');
    state.status = r.json;
    renderStatus();
  } finally {
    button.disabled = false;
  }
}

async function reload() {
  const b = $('#reload');
  b.disabled = true;
  $('#reload-result').textContent = 'reloading…';
  try {
    const r = await api('POST', '/reload');
    $('#reload-result').replaceChildren(el('span', {}, 'last: '), reloadItem(r.json));
    state.status = (await api('GET', '/status')).json;
    renderStatus();
  } catch (e) {
    $('#reload-result').textContent = e.message;
  } finally {
    b.disabled = false;
  }
}

function render() {
  renderCharts();
  renderCards();
  renderCodes();
  renderStatus();
}

$('#reload').addEventListener('click', reload);
$('#login').addEventListener('submit', (e) => {
  e.preventDefault();
  state.token = $('#token').value;
  sessionStorage.setItem('gatekit-token', state.token);
  $('#login').hidden = true;
  connect();
});
window.addEventListener('resize', () => {
  state.keys = '';
  if (state.points.length) renderCharts();
});
connect();
