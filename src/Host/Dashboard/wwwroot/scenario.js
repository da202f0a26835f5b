// The scenario timeline: a `df scenario run --json` verdict read from a local file and drawn here. Nothing is sent
// anywhere (the page needs no token: it shows only what the user gives it). Each entry's summary is the one the
// text report prints (`summary`); a click on an expectation marks the timeline entries that matched it.
'use strict';

const $ = (sel) => document.querySelector(sel);

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === 'class') node.className = v; else if (k.startsWith('data-')) node.setAttribute(k, v); else node[k] = v;
  }
  for (const c of children) node.append(c instanceof Node ? c : document.createTextNode(c ?? ''));
  return node;
}

const MaxRows = 5000; // a 24-hour run has ~100,000 events: the page draws at most this many at once
let run = null;
let marked = new Set(); // the timeline entries (by index) the chosen expectation matched, or its counter-examples

function fields(entry) {
  // the report's own one-line summary, else the event's scalar fields
  if (entry.summary) return entry.summary.slice(entry.summary.indexOf(' ') + 1);
  const e = entry.event || {};
  return Object.entries(e).filter(([, v]) => v !== null && typeof v !== 'object').map(([k, v]) => `${k}=${v}`).join(' ');
}

function show(data) {
  if (!data || !Array.isArray(data.timeline) || !Array.isArray(data.expectations)) {
    throw new Error('not the output of df scenario run --json (no timeline or expectations)');
  }
  run = data;
  marked = new Set();
  $('#scenario-summary').textContent = `${data.scenario} · seed ${data.seed} · ${data.start} → ${data.until} · ${data.timeline.length} events`;
  const verdict = $('#verdict');
  verdict.textContent = data.passed ? 'passed' : 'failed';
  verdict.className = 'pill ' + (data.passed ? 'on' : 'off');

  const rows = $('#expectations tbody');
  rows.replaceChildren(...data.expectations.map((x, i) => el('tr', { class: 'expectation ' + (x.passed ? 'pass' : 'fail'), 'data-expectation': String(i) },
    el('td', { class: x.passed ? 'state state-completed' : 'state state-quarantined' }, x.passed ? 'PASS' : 'FAIL'),
    el('td', {}, String(x.line)),
    el('td', { class: 'reason' }, x.expectation),
    el('td', { class: 'reason' }, x.detail || ''))));
  for (const tr of rows.querySelectorAll('tr')) tr.addEventListener('click', () => mark(Number(tr.dataset.expectation)));

  $('#invariants tbody').replaceChildren(...(data.invariants || []).map((v) => el('tr', { class: 'invariant' },
    el('td', { class: v.held ? 'state state-completed' : 'state state-quarantined' }, v.held ? 'held' : 'BROKEN'),
    el('td', {}, v.invariant),
    el('td', { class: 'reason' }, v.detail || ''))));

  $('#verdicts-panel').hidden = false;
  $('#timeline-panel').hidden = false;
  draw();
}

function draw() {
  const filter = $('#timeline-filter').value.trim().toLowerCase();
  const injectedOnly = $('#timeline-injected').checked;
  const body = $('#timeline tbody');
  const shown = run.timeline.map((t, i) => [t, i]).filter(([t]) => (!injectedOnly || t.source === 'injected')
    && (!filter || `${t.type} ${fields(t)} ${JSON.stringify(t.event)}`.toLowerCase().includes(filter)));
  const rows = shown.slice(0, MaxRows);
  body.replaceChildren(...rows.map(([t, i]) => el('tr', { class: 'entry ' + t.source + (marked.has(i) ? ' matched' : ''), 'data-at': t.at, 'data-type': t.type, 'data-index': String(i) },
    el('td', { class: 'muted' }, t.at.replace('T', ' ').replace(/(\.\d+)?(Z|\+00:00)$/, 'Z')),
    el('td', {}, t.offset),
    el('td', {}, el('span', { class: 'pill ' + (t.source === 'injected' ? 'injected' : 'observed') }, t.source)),
    el('td', { class: 'type' }, t.type),
    el('td', { class: 'reason' }, fields(t)))));
  const of = shown.length === run.timeline.length ? `${shown.length} events` : `${shown.length} of ${run.timeline.length} events`;
  $('#timeline-count').textContent = rows.length < shown.length ? `${of}, the first ${rows.length} shown: filter to narrow` : of;
}

function mark(i) {
  marked = new Set(run.expectations[i].entries || []);
  for (const tr of document.querySelectorAll('#expectations tr')) tr.classList.toggle('chosen', tr.dataset.expectation === String(i));
  for (const tr of document.querySelectorAll('#timeline tr.entry')) tr.classList.toggle('matched', marked.has(Number(tr.dataset.index)));
}

$('#scenario-file').addEventListener('change', async (e) => {
  const file = e.target.files[0];
  if (!file) return;
  $('#scenario-error').textContent = '';
  try {
    show(JSON.parse(await file.text()));
  } catch (err) {
    $('#scenario-error').textContent = `${file.name}: ${err.message}`;
  }
});
$('#timeline-filter').addEventListener('input', () => run && draw());
$('#timeline-injected').addEventListener('change', () => run && draw());
