// Dark Factory dashboard: plain JavaScript, no build step. State comes from one server-sent event
// stream (/api/events, read with fetch so the bearer token can be sent); panels whose endpoints answer
// 404 show "not available" and are fetched again when an event says they changed.
'use strict';

const LAYERS = ['safety', 'core', 'growth'];
const TOKEN_KEY = 'df-token';
const state = {
  agents: new Map(),     // name -> AgentStatus (snake_case JSON)
  caps: new Map(),       // name -> capability entry (declared provider/model, current task)
  drift: new Map(),      // name -> {score, level}
  routes: new Map(),     // name -> latest route-chosen event
  dirty: new Set(),
  logAgent: '',
  stream: null,
  projects: [],          // /api/projects
  project: null,         // the id chosen in the projects panel
  cluster: null,         // /api/cluster on a cluster node, null on a single node
};
window.dfStats = { events: 0, lastLatencyMs: null, maxLatencyMs: 0, connected: false, lagged: 0 };

const $ = (id) => document.getElementById(id);
const esc = (v) => String(v ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c]));

// ---------------------------------------------------------------- token

function takeTokenFromFragment() {
  const m = location.hash.match(/token=([^&]+)/);
  if (m) {
    sessionStorage.setItem(TOKEN_KEY, decodeURIComponent(m[1]));
    history.replaceState(null, '', location.pathname + location.search); // the token leaves the address bar
  }
}

function token() { return sessionStorage.getItem(TOKEN_KEY); }

function askToken(message) {
  sessionStorage.removeItem(TOKEN_KEY);
  if (state.stream) state.stream.abort();
  $('app').hidden = true;
  $('login').hidden = false;
  $('login-error').textContent = message || '';
  $('token').focus();
}

async function api(path, options = {}) {
  const headers = Object.assign({ Authorization: 'Bearer ' + token() }, options.headers || {});
  const res = await fetch(path, Object.assign({}, options, { headers }));
  if (res.status === 401) {
    askToken('The daemon refused the token.');
    throw new Error('unauthorized');
  }
  return res;
}

async function optional(path, render, target) {
  try {
    const res = await api(path);
    if (res.status === 404) { $(target).innerHTML = '<span class="na">not available</span>'; return; }
    if (!res.ok) { $(target).innerHTML = `<span class="error">${esc(res.status)} ${esc(await res.text())}</span>`; return; }
    $(target).innerHTML = render(await res.json());
  } catch (e) {
    if (e.message !== 'unauthorized') $(target).innerHTML = `<span class="error">${esc(e.message)}</span>`;
  }
}

// ---------------------------------------------------------------- fleet

function uptime(a) {
  if (!a.started_at || !['running', 'starting', 'stopping'].includes(a.state)) return '–';
  let s = Math.max(0, Math.floor((Date.now() - Date.parse(a.started_at)) / 1000));
  const d = Math.floor(s / 86400); s -= d * 86400;
  const h = Math.floor(s / 3600); s -= h * 3600;
  const m = Math.floor(s / 60); s -= m * 60;
  return d ? `${d}d ${h}h` : h ? `${h}h ${m}m` : m ? `${m}m ${s}s` : `${s}s`;
}

// The route of the run going now: the router's route-chosen for this very run (from the stream, or from
// the registry when the page opened after it), else the agent's declared provider/model, marked so.
function routeOf(name, a) {
  const running = ['running', 'starting', 'stopping'].includes(a.state);
  const c = state.caps.get(name);
  const r = state.routes.get(name);
  const route = r && r.run_id === a.run_id ? r : c && c.route && c.run_id === a.run_id ? c.route : null;
  if (route && running) return [route.cli, route.provider, route.model].filter(Boolean).join(' / ');
  if (c && (c.provider || c.model)) return [c.provider, c.model].filter(Boolean).join(' / ') + ' (declared)';
  return a.cli === 'command' ? '–' : a.cli;
}

function driftCell(name) {
  const d = state.drift.get(name);
  if (!d) return '<span class="muted">–</span>';
  return `<span class="level-${esc(d.level)}" title="${esc(d.level)}">${Number(d.score).toFixed(2)}</span>`;
}

function lastExit(a) {
  const e = a.last_exit;
  if (!e) return '–';
  return e.signal ? `signal ${e.signal}` : `code ${e.code}`;
}

function rowHtml(a) {
  const n = a.name;
  return `<td class="name">${esc(n)}</td>
    ${state.cluster ? `<td class="node">${esc(a.node ?? '–')}</td>` : ''}
    <td class="state state-${esc(a.state)}">${esc(a.state)}</td>
    <td class="uptime">${uptime(a)}</td>
    <td class="restarts">${esc(a.restarts ?? 0)}</td>
    <td class="drift">${driftCell(n)}</td>
    <td class="route">${esc(routeOf(n, a))}</td>
    <td class="pid">${esc(a.pid ?? '–')}</td>
    <td class="exit">${esc(lastExit(a))}</td>
    <td class="reason">${esc(a.reason ?? '')}</td>
    <td class="actions">
      <button data-action="start" data-agent="${esc(n)}">start</button>
      <button data-action="stop" data-agent="${esc(n)}">stop</button>
      <button data-action="restart" data-agent="${esc(n)}">restart</button>
      <button data-action="run" data-agent="${esc(n)}">run…</button>
    </td>`;
}

function renderFleet() {
  const byLayer = new Map(LAYERS.map((l) => [l, []]));
  for (const a of [...state.agents.values()].sort((x, y) => x.name.localeCompare(y.name))) {
    if (!byLayer.has(a.layer)) byLayer.set(a.layer, []);
    byLayer.get(a.layer).push(a);
  }
  let html = '';
  for (const [layer, agents] of byLayer) {
    if (agents.length === 0) continue;
    html += `<h3>${esc(layer)} <span class="muted" data-layer-count="${esc(layer)}"></span></h3>
      <table data-layer="${esc(layer)}"><thead><tr><th class="name">agent</th>${state.cluster ? '<th class="node">node</th>' : ''}<th class="state">state</th>
      <th class="uptime">uptime</th><th class="restarts">restarts</th><th class="drift">drift</th><th class="route">route / provider</th>
      <th class="pid">pid</th><th class="exit">last exit</th><th class="reason">note</th><th class="act"></th></tr></thead><tbody>`;
    for (const a of agents) html += `<tr data-agent="${esc(a.name)}">${rowHtml(a)}</tr>`;
    html += '</tbody></table>';
  }
  $('fleet').innerHTML = html || '<span class="na">no agents</span>';
  renderSummary();
  renderLogChoices();
}

function renderSummary() {
  const counts = {};
  const layers = {};
  for (const a of state.agents.values()) {
    counts[a.state] = (counts[a.state] || 0) + 1;
    const l = layers[a.layer] || (layers[a.layer] = { running: 0, total: 0 });
    l.total++;
    if (a.state === 'running') l.running++;
  }
  for (const el of document.querySelectorAll('[data-layer-count]')) {
    const l = layers[el.dataset.layerCount] || { running: 0, total: 0 };
    el.textContent = `${l.running}/${l.total} running`;
  }
  $('summary').textContent = `${state.agents.size} agents · ` + Object.entries(counts).map(([k, v]) => `${v} ${k}`).join(', ');
}

// Coalesce renders: many events in one frame cost one render of the changed rows.
let frame = 0;
let structural = false;
function scheduleRender(name, structure = false) {
  if (name) state.dirty.add(name);
  structural = structural || structure;
  if (!frame) frame = requestAnimationFrame(flush);
}

function flush() {
  frame = 0;
  if (structural) {
    structural = false;
    state.dirty.clear();
    renderFleet();
    return;
  }
  for (const name of state.dirty) {
    const row = document.querySelector(`tr[data-agent="${CSS.escape(name)}"]`);
    const a = state.agents.get(name);
    if (!row || !a || row.closest('table').dataset.layer !== a.layer) { state.dirty.clear(); renderFleet(); return; }
    row.innerHTML = rowHtml(a);
    row.classList.remove('flash'); void row.offsetWidth; row.classList.add('flash');
  }
  state.dirty.clear();
  renderSummary();
}

function renderLogChoices() {
  const select = $('log-agent');
  const names = [...state.agents.keys()].sort();
  const current = [...select.options].slice(1).map((o) => o.value);
  if (names.join() === current.join()) return;
  select.innerHTML = '<option value="">choose an agent</option>' + names.map((n) => `<option${n === state.logAgent ? ' selected' : ''}>${esc(n)}</option>`).join('');
}

// ---------------------------------------------------------------- other panels

function table(rows, columns) {
  if (!Array.isArray(rows) || rows.length === 0) return '<span class="muted">none</span>';
  columns = columns || Object.keys(rows[0]);
  return '<table><thead><tr>' + columns.map((c) => `<th>${esc(c.replace(/_/g, ' '))}</th>`).join('') + '</tr></thead><tbody>'
    + rows.map((r) => '<tr>' + columns.map((c) => `<td>${cell(r[c])}</td>`).join('') + '</tr>').join('') + '</tbody></table>';
}

function cell(v) {
  if (v === null || v === undefined) return '–';
  if (typeof v === 'number') return esc(Number.isInteger(v) ? v : v.toFixed(4));
  if (typeof v === 'object') return esc(Array.isArray(v) ? v.map((x) => (typeof x === 'object' ? JSON.stringify(x) : x)).join(', ') : JSON.stringify(v));
  return esc(v);
}

function renderProviders(list) {
  const rows = Array.isArray(list) ? list : list.providers || [];
  return table(rows.map((p) => ({
    name: p.name, state: p.state, reset_at: p.reset_at, failures: p.consecutive_failures,
    spend_today: p.spend_today, spend: p.spend ?? p.spent_usd, reason: p.reason,
  })));
}

function renderCosts(c) {
  const budgets = Array.isArray(c) ? c : c.budgets && c.budgets.length ? c.budgets : c.providers || c.agents;
  if (!Array.isArray(budgets)) {
    if (Array.isArray(c.rows)) {
      return table(c.rows.map((r) => ({ [c.by || 'key']: r.key, runs: r.runs, input_tokens: r.input_tokens, output_tokens: r.output_tokens, cost_usd: r.cost_usd })))
        + (c.total_usd !== undefined ? `<p class="muted">total ${cell(c.total_usd)} USD (no budgets set)</p>` : '');
    }
    return table(Object.entries(c).map(([k, v]) => ({ key: k, value: v })));
  }
  if (budgets.length === 0) return '<span class="muted">no spend yet</span>';
  let html = '<table><thead><tr><th>name</th><th>spent today</th><th>budget</th><th></th></tr></thead><tbody>';
  for (const b of budgets) {
    const spent = b.spent_today ?? b.today ?? b.spend ?? b.spent_usd ?? b.spent;
    const cap = b.budget ?? b.daily_budget ?? b.daily_cap ?? b.cap ?? b.limit;
    const share = typeof spent === 'number' && typeof cap === 'number' && cap > 0 ? spent / cap : null;
    const bar = share === null ? '' : `<div class="bar"><span class="${share > 1 ? 'over' : ''}" style="width:${Math.min(100, share * 100)}%"></span></div>`;
    html += `<tr><td>${cell(b.name ?? b.provider ?? b.agent)}</td><td>${cell(spent)}</td><td>${cell(cap)}</td><td>${bar}</td></tr>`;
  }
  return html + '</tbody></table>';
}

function renderEscalations(list) {
  const rows = (Array.isArray(list) ? list : list.escalations || []).map((e) => e.escalation ? Object.assign({}, e.escalation, { delivered: e.delivery ? e.delivery.ok : null }) : e);
  return table(rows.slice(0, 20).map((e) => ({ at: e.at, agent: e.agent, level: e.level, score: e.score, reason: e.reason, delivered: e.delivered })));
}

function time(at) { return at ? new Date(at).toLocaleTimeString() : ''; }

function seconds(from, to) {
  if (!from || !to) return '';
  const s = (Date.parse(to) - Date.parse(from)) / 1000;
  return s >= 0 ? (s < 10 ? s.toFixed(1) : Math.round(s)) + ' s' : '';
}

// The newest review's steps, in order, each with its state, start and duration (a running step ticks).
function timeline(r) {
  if (!r || !Array.isArray(r.steps) || r.steps.length === 0) return '';
  const items = r.steps.map((s) => `<li class="step step-${esc(s.status)}"><span class="step-name">${esc(s.name)}</span>
    <span class="step-status">${esc(s.status)}</span> <span class="muted">${esc(time(s.started_at))}
    ${esc(s.ended_at ? seconds(s.started_at, s.ended_at) : s.started_at && s.status === 'running' ? 'running' : '')}</span>
    ${s.detail ? `<span class="muted step-detail">${esc(s.detail)}</span>` : ''}</li>`).join('');
  return `<h3>${esc(r.id)} · ${esc(r.status)}${r.pr_url ? ` · <a href="${esc(r.pr_url)}" rel="noreferrer">PR</a>` : ''}</h3><ol id="review-timeline" class="timeline">${items}</ol>`;
}

function renderReviews(list) {
  const rows = Array.isArray(list) ? list : list.reviews || [];
  const newest = [...rows].sort((a, b) => Date.parse(b.started_at || 0) - Date.parse(a.started_at || 0))[0];
  return timeline(newest) + table(rows.slice(0, 20).map((r) => ({ id: r.review_id ?? r.id, state: r.state ?? r.status ?? r.step, started: r.started_at ?? r.at, finding: r.finding?.title ?? r.title, pr: r.pr_url ?? r.pr?.url })));
}

// ---------------------------------------------------------------- projects

const TASK_COLUMNS = ['pending', 'in_progress', 'blocked', 'completed', 'skipped'];

// .NET TimeSpan JSON ("[d.]hh:mm:ss[.fffffff]") -> seconds
function spanSeconds(v) {
  const m = /^(-)?(?:(\d+)\.)?(\d+):(\d+):(\d+(?:\.\d+)?)$/.exec(String(v ?? ''));
  if (!m) return null;
  const s = (+(m[2] || 0)) * 86400 + (+m[3]) * 3600 + (+m[4]) * 60 + (+m[5]);
  return m[1] ? -s : s;
}

function duration(v) {
  let s = spanSeconds(v);
  if (s === null) return '–';
  s = Math.max(0, Math.floor(s));
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60);
  return h ? `${h}h ${m}m` : m ? `${m}m ${s % 60}s` : `${s}s`;
}

// The project shown below the list: the one chosen, else the newest that is active (or the newest).
function shownProject(list) {
  return list.find((p) => p.id === state.project)
    || list.find((p) => ['active', 'waiting_for_credits', 'initializing'].includes(p.status)) || list[0];
}

function renderProjects(list) {
  state.projects = Array.isArray(list) ? list : [];
  if (state.projects.length === 0) { $('project').innerHTML = ''; return '<span class="muted">no projects (df init)</span>'; }
  const shown = shownProject(state.projects);
  let html = '<table><thead><tr><th>name</th><th>status</th><th>tasks done</th><th>current task</th><th>runtime</th><th>cost</th></tr></thead><tbody>';
  for (const p of state.projects) {
    const used = spanSeconds(p.runtime_used), max = spanSeconds(p.max_runtime);
    const share = used !== null && max ? used / max : null;
    const bar = share === null ? '' : `<div class="bar"><span class="${share >= 1 ? 'over' : ''}" style="width:${Math.min(100, share * 100)}%"></span></div>`;
    html += `<tr data-project="${esc(p.id)}" class="${p.id === shown.id ? 'chosen' : ''}"><td class="name"><a href="#" data-project-id="${esc(p.id)}">${esc(p.name)}</a></td>
      <td class="status state-${esc(p.status)}">${esc(p.status)}${p.queued ? ' (queued)' : ''}</td>
      <td class="progress">${esc(p.tasks.completed)}/${esc(p.tasks.total)}</td>
      <td class="current">${esc(p.current_task ?? '–')}</td>
      <td class="runtime">${esc(duration(p.runtime_used))} of ${esc(duration(p.max_runtime))}${bar}</td>
      <td class="cost">${cell(p.cost_usd)} USD · ${esc(p.tokens)} tokens</td></tr>`;
  }
  loadProjectTasks(shown);
  return html + '</tbody></table>';
}

function gateBadges(attempt) {
  return (attempt && attempt.gates || []).map((g) => `<span class="gate ${g.passed ? 'pass' : 'fail'}" title="exit ${esc(g.exit_code)}">${g.passed ? '✓' : '✗'} ${esc(g.name)}</span>`).join(' ');
}

function renderTaskBoard(p, tasks) {
  const run = p.current_run;
  const runLine = run
    ? `<p class="current-run">current run: <b>${esc(run.purpose)}</b> · ${esc(run.persona)} on ${esc(run.agent)}${run.task_id ? ' · task ' + esc(run.task_id) : ''}${run.attempt ? ' · attempt ' + esc(run.attempt) : ''}
       <button data-project-log="${esc(run.agent.includes('@') ? run.agent : run.agent + '@' + p.id)}">follow its log</button></p>`
    : '';
  const columns = TASK_COLUMNS.map((status) => {
    const cards = tasks.filter((t) => t.status === status).map((t) => {
      const last = t.attempts[t.attempts.length - 1];
      return `<li class="task" data-task="${esc(t.id)}"><b>${esc(t.id)}</b> ${esc(t.title)}
        <div class="muted">${esc(t.persona)} · ${esc(t.attempts.length)} attempt${t.attempts.length === 1 ? '' : 's'}${t.reopened ? ' · reopened ' + esc(t.reopened) : ''}</div>
        ${gateBadges(last)}${t.notes ? `<div class="muted notes">${esc(t.notes)}</div>` : ''}</li>`;
    }).join('');
    return `<div class="column" data-status="${status}"><h3>${esc(status.replace('_', ' '))}</h3><ol>${cards}</ol></div>`;
  }).join('');
  return `<h3>${esc(p.name)} · ${esc(p.status)}${p.pr_url ? ` · <a href="${esc(p.pr_url)}" rel="noreferrer">PR</a>` : ''}</h3>${runLine}<div id="task-board" class="board">${columns}</div>`;
}

async function loadProjectTasks(p) {
  try {
    const res = await api(`/api/projects/${encodeURIComponent(p.id)}/tasks`);
    if (!res.ok) { $('project').innerHTML = `<span class="muted">${esc(p.name)}: ${esc(res.status === 503 ? 'recovering…' : res.status)}</span>`; return; }
    $('project').innerHTML = renderTaskBoard(p, await res.json());
  } catch (e) {
    if (e.message !== 'unauthorized') $('project').innerHTML = `<span class="error">${esc(e.message)}</span>`;
  }
}

const refetchTimers = {};
function refetchSoon(key, fn) {
  if (refetchTimers[key]) return;
  refetchTimers[key] = setTimeout(() => { delete refetchTimers[key]; fn(); }, 500);
}

// ---------------------------------------------------------------- cluster
// On a cluster node (GET /api/cluster answers; 404 on a single node) the page shows the members and where the
// singletons run, and every agent of the fleet with its node: this node's agents live from the event stream, the
// others' from GET /api/agents (the cluster-wide answer), fetched again when another node's agent changes
// (its lifecycle events carry the node) and every few seconds for what has no event (a member's status).

async function loadCluster() {
  try {
    const res = await api('/api/cluster');
    if (res.status === 404) { state.cluster = null; $('cluster-panel').hidden = true; return; }
    if (!res.ok) { $('cluster').innerHTML = `<span class="error">${esc(res.status)} ${esc(await res.text())}</span>`; return; }
    const first = !state.cluster;
    state.cluster = await res.json();
    $('cluster-panel').hidden = false;
    $('cluster-self').textContent = `this page is served by ${state.cluster.self}`;
    $('cluster').innerHTML = renderCluster(state.cluster);
    await loadClusterAgents();
    if (first) {
      renderFleet();
      setInterval(() => refetchSoon('cluster', loadCluster), 5000);
    }
  } catch (e) {
    if (e.message !== 'unauthorized') $('cluster').innerHTML = `<span class="error">${esc(e.message)}</span>`;
  }
}

function renderCluster(c) {
  const members = table((c.members || []).map((m) => ({
    node: m.node, status: m.status, roles: m.roles, agents: (m.agents || []).length, address: m.address,
  })));
  const singletons = Object.entries(c.singletons || {}).map(([name, node]) => `${esc(name)} on <b>${esc(node)}</b>`).join(', ');
  const unplaced = (c.unplaced || []).map((u) => `${esc(u.agent)} (${esc(u.reason ?? '')})`).join(', ');
  return members
    + `<p class="singletons">singletons: ${singletons || '<span class="muted">none yet</span>'}; placement epoch ${esc(c.epoch ?? 0)}</p>`
    + (unplaced ? `<p class="unplaced">placed nowhere: ${unplaced}</p>` : '');
}

async function loadClusterAgents() {
  const res = await api('/api/agents');
  if (!res.ok) return;
  let structure = false;
  for (const a of await res.json()) {
    const before = state.agents.get(a.name);
    // this node's own agents stay as the event stream says (fresher); they only learn their node here
    const now = a.node === state.cluster.self && before ? Object.assign({}, before, { node: a.node }) : a;
    if (!before || before.layer !== now.layer) structure = true;
    else if (JSON.stringify(before) === JSON.stringify(now)) continue;
    state.agents.set(a.name, now);
    scheduleRender(a.name, structure);
  }
}

const loadProviders = () => optional('/api/providers', renderProviders, 'providers');
const loadCosts = () => optional('/api/costs', renderCosts, 'costs');
const loadEscalations = () => optional('/api/escalations', renderEscalations, 'escalations');
const loadReviews = () => optional('/api/reviews', renderReviews, 'reviews');
const loadProjects = () => optional('/api/projects', renderProjects, 'projects');

// Nightwatch publishes a verdict when a level changes; the score moves in between (signals come and age
// out of its window), so the scores are fetched again after agent events and, while any is above zero,
// every few seconds — never the whole fleet's state, only /api/drift.
let driftTimer = 0;
async function loadDrift() {
  try {
    const res = await api('/api/drift');
    if (!res.ok) return;
    const list = await res.json();
    for (const d of Array.isArray(list) ? list : list.agents || []) {
      const before = state.drift.get(d.agent);
      if (!before || before.score !== d.score || before.level !== d.level) {
        state.drift.set(d.agent, { score: d.score, level: d.level });
        scheduleRender(d.agent);
      }
    }
    clearTimeout(driftTimer);
    if ([...state.drift.values()].some((d) => d.score > 0)) driftTimer = setTimeout(loadDrift, 3000);
  } catch { /* not available: the drift column stays empty */ }
}

async function loadCapabilities() {
  try {
    const res = await api('/api/capabilities');
    if (!res.ok) return;
    for (const c of await res.json()) state.caps.set(c.agent, c);
    scheduleRender(null, true);
  } catch { /* optional */ }
}

// ---------------------------------------------------------------- events

function addEventLine(name, data) {
  const list = $('events');
  const li = document.createElement('li');
  const who = data.agent || data.name || data.provider || data.review_id || '';
  const what = data.kind || data.state || data.level || data.outcome || data.reason || '';
  li.innerHTML = `<span class="muted">${esc(new Date().toLocaleTimeString())}</span> <span class="name">${esc(name)}</span>${esc(who)} ${esc(what)}`;
  list.prepend(li);
  while (list.children.length > 100) list.lastChild.remove();
}

function appendLog(lines) {
  const pre = $('log');
  const frag = document.createDocumentFragment();
  for (const l of lines) {
    const span = document.createElement('span');
    span.className = l.stream === 'stderr' ? 'stderr' : l.kind === 'error' ? 'error' : '';
    span.textContent = l.text + '\n';
    frag.appendChild(span);
  }
  pre.appendChild(frag);
  while (pre.childNodes.length > 2000) pre.firstChild.remove();
  if ($('log-follow').checked) pre.scrollTop = pre.scrollHeight;
}

function onEvent(name, data) {
  window.dfStats.events++;
  switch (name) {
    case 'agent-status': {
      const before = state.agents.get(data.name);
      // on a cluster node the stream carries this node's agents: they keep the node the cluster view gave them
      state.agents.set(data.name, state.cluster ? Object.assign({ node: state.cluster.self }, data) : data);
      scheduleRender(data.name, !before);
      break;
    }
    case 'agent-removed':
      state.agents.delete(data.agent);
      scheduleRender(null, true);
      if (state.cluster) refetchSoon('cluster-agents', loadClusterAgents); // gone from this node: placed on another?
      break;
    case 'agent-output':
      if (data.agent !== state.logAgent) return;
      // another cluster node's agent: its node bounds what it sends across and says what it held back
      if (data.skipped_lines) appendLog([{ stream: 'stderr', text: `… ${data.skipped_lines} lines not sent across from ${data.node} (see df logs)` }]);
      appendLog(data.lines);
      return;
    case 'drift-verdict':
      state.drift.set(data.agent, { score: data.score, level: data.level });
      scheduleRender(data.agent);
      refetchSoon('drift', loadDrift);
      break;
    case 'agent-lifecycle':
      if (data.node && state.cluster && data.node !== state.cluster.self) refetchSoon('cluster-agents', loadClusterAgents);
      refetchSoon('drift', loadDrift);
      break;
    case 'drift-correction':
      refetchSoon('drift', loadDrift);
      break;
    case 'route-chosen':
      if (data.agent) { state.routes.set(data.agent, data); scheduleRender(data.agent); }
      refetchSoon('providers', loadProviders);
      break;
    case 'provider-limited':
    case 'provider-limit-recorded':
    case 'breaker-transitioned':
    case 'provider-switched':
      refetchSoon('providers', loadProviders);
      break;
    case 'agent-usage':
    case 'cost-recorded':
      refetchSoon('costs', loadCosts);
      refetchSoon('providers', loadProviders);
      break;
    case 'escalation':
    case 'escalation-delivered':
      refetchSoon('escalations', loadEscalations);
      break;
    case 'lagged':
      window.dfStats.lagged += data.dropped;
      break;
    case 'ready':
      break;
    default:
      if (name.startsWith('review-')) refetchSoon('reviews', loadReviews);
      if (name.startsWith('project-')) refetchSoon('projects', loadProjects);
  }
  if (name !== 'ready') addEventLine(name, data);
  if (data.at) {
    const latency = Date.now() - Date.parse(data.at);
    if (latency >= 0 && latency < 600000) {
      window.dfStats.lastLatencyMs = latency;
      window.dfStats.maxLatencyMs = Math.max(window.dfStats.maxLatencyMs, latency);
    }
  }
}

async function connect() {
  if (state.stream) state.stream.abort();
  const ctl = new AbortController();
  state.stream = ctl;
  let delay = 500;
  while (!ctl.signal.aborted) {
    try {
      const query = state.logAgent ? '?output=' + encodeURIComponent(state.logAgent) : '';
      const res = await api('/api/events' + query, { signal: ctl.signal });
      if (!res.ok) throw new Error('event stream: ' + res.status);
      setLive(true);
      delay = 500;
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += value;
        let end;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          let name = 'message', data = '';
          for (const line of block.split('\n')) {
            if (line.startsWith('event: ')) name = line.slice(7);
            else if (line.startsWith('data: ')) data += line.slice(6);
          }
          if (data) {
            try { onEvent(name, JSON.parse(data)); } catch (e) { console.error(name, e); }
          }
        }
      }
    } catch (e) {
      if (ctl.signal.aborted || e.message === 'unauthorized') return;
    }
    setLive(false);
    await new Promise((r) => setTimeout(r, delay));
    delay = Math.min(delay * 2, 5000);
  }
}

function setLive(on) {
  window.dfStats.connected = on;
  $('live').textContent = on ? 'live' : 'reconnecting';
  $('live').className = 'pill ' + (on ? 'on' : 'off');
}

// ---------------------------------------------------------------- actions

function confirmAction(text, withTask) {
  return new Promise((resolve) => {
    const dialog = $('confirm');
    $('confirm-text').textContent = text;
    $('confirm-task').hidden = !withTask;
    $('confirm-task').value = '';
    dialog.onclose = () => resolve(dialog.returnValue === 'ok' ? { task: $('confirm-task').value.trim() } : null);
    dialog.showModal();
  });
}

function toast(text) {
  const t = $('toast');
  t.textContent = text;
  t.className = 'show';
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { t.className = ''; }, 4000);
}

async function act(action, agent) {
  const verb = action === 'run' ? 'run' : action;
  const answer = await confirmAction(`${verb[0].toUpperCase() + verb.slice(1)} ${agent}?`, action === 'run');
  if (!answer) return;
  const body = action === 'run' && answer.task ? JSON.stringify({ task: answer.task }) : undefined;
  try {
    const res = await api(`/api/agents/${encodeURIComponent(agent)}/${action}`, {
      method: 'POST', body, headers: body ? { 'Content-Type': 'application/json' } : {},
    });
    const json = await res.json();
    toast(`${agent}: ${json.message || json.detail || res.status}${json.run_id ? ' (run ' + json.run_id + ')' : ''}`);
  } catch (e) {
    if (e.message !== 'unauthorized') toast(`${agent}: ${e.message}`);
  }
}

async function chooseLog(agent) {
  state.logAgent = agent;
  $('log').textContent = '';
  if (agent) {
    try {
      const res = await api(`/api/agents/${encodeURIComponent(agent)}/logs?tail=200`);
      if (res.ok) $('log').textContent = await res.text();
    } catch { /* shown by the stream */ }
  }
  connect();
}

// ---------------------------------------------------------------- start

function start() {
  $('login').hidden = true;
  $('app').hidden = false;
  connect();
  loadCapabilities();
  loadDrift();
  loadProviders();
  loadCosts();
  loadEscalations();
  loadReviews();
  loadProjects();
  loadCluster();
}

document.addEventListener('click', (e) => {
  const b = e.target.closest('button[data-action]');
  if (b) act(b.dataset.action, b.dataset.agent);
  const chosen = e.target.closest('a[data-project-id]');
  if (chosen) { e.preventDefault(); state.project = chosen.dataset.projectId; loadProjects(); }
  const follow = e.target.closest('button[data-project-log]');
  if (follow) { $('log-agent').value = follow.dataset.projectLog; chooseLog(follow.dataset.projectLog); }
});
$('log-agent').addEventListener('change', (e) => chooseLog(e.target.value));
$('login-form').addEventListener('submit', (e) => {
  e.preventDefault();
  sessionStorage.setItem(TOKEN_KEY, $('token').value.trim());
  $('token').value = '';
  start();
});
$('forget').addEventListener('click', () => askToken('Signed out.'));
setInterval(() => {
  for (const row of document.querySelectorAll('tr[data-agent]')) {
    const a = state.agents.get(row.dataset.agent);
    if (a) row.querySelector('.uptime').textContent = uptime(a);
  }
}, 1000);

window.addEventListener('hashchange', () => {
  // the URL of `df dashboard` opened in a tab that already shows the page
  if (/token=/.test(location.hash)) { takeTokenFromFragment(); start(); }
});
takeTokenFromFragment();
if (token()) start(); else askToken();
