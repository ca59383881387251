// snitch-web: the pages' one script. The whole view state lives in the
// URL (path = page, query = range, filters, grouping...), so a link
// reproduces the view; the data comes from the JSON API (docs/web.md).
'use strict';
(function () {
  const LABELS = {
    exe: 'executable', name: 'name', cmdline: 'command line', sha256: 'sha256',
    parent_exe: 'parent executable', parent_name: 'parent name',
    parent_cmdline: 'parent command line', parent_sha256: 'parent sha256',
    gparent_exe: 'grandparent executable', gparent_name: 'grandparent name',
    gparent_cmdline: 'grandparent command line', gparent_sha256: 'grandparent sha256',
    user: 'user (uid)', lport: 'local port', rport: 'remote port', laddr: 'local address',
    raddr: 'remote address', country: 'country', domain: 'domain',
    netns: 'network namespace', container: 'container', proto: 'protocol',
    app: 'app (Flatpak, Snap, AppImage)', script: 'script',
    container_name: 'container name', image: 'container image',
    pod_namespace: 'pod namespace', pod_name: 'pod name',
    outcome: 'outcome (connected, refused, ...)',
  };
  const PAGES = { '/': 'overview', '/explore': 'explore', '/executables': 'executables' };
  const PATHS = { overview: '/', explore: '/explore', executables: '/executables' };
  const RANGES = ['1m', '5m', '15m', '1h', '6h', '1d', '7d', '30d', '1y', 'all', 'custom'];
  const PALETTE = ['#2f7bd8', '#e8833a', '#3aa660', '#c8423c', '#8e63c9', '#8c6d31',
    '#d462ad', '#17a2b8', '#bcbd22', '#4e5d6c', '#ff9da7', '#59a14f', '#edc948', '#76b7b2',
    '#b07aa1', '#9c755f', '#af7aa1', '#86bcb6', '#f28e2b', '#e15759'];
  const OTHER_COLOR = '#9aa3ad';

  const $ = (id) => document.getElementById(id);
  let state = {};
  let meta = null;
  let chart = null;
  let timer = null;
  let loads = 0;
  let generation = 0;
  let dbDown = false;	// the database cannot be read: its message alone is shown

  // ---- state <-> URL ----

  function readState() {
    const u = new URL(location.href);
    const p = u.searchParams;
    const pick = (v, ok, def) => (v !== null && ok.includes(v) ? v : def);
    state = {
      page: PAGES[u.pathname] || 'overview',
      range: pick(p.get('range'), RANGES, p.get('from') ? 'custom' : '1h'),
      from: p.get('from'),
      until: p.get('until'),
      refresh: pick(p.get('refresh'), ['0', '5', '15', '30', '60'], '0'),
      units: pick(p.get('units'), ['iec', 'si', 'bytes'], 'iec'),
      theme: pick(p.get('theme'), ['dark', 'light'], ''),
      group: p.get('group') || 'exe',
      top: pick(p.get('top'), ['3', '5', '10', '20'], '5'),
      metric: pick(p.get('metric'), ['total', 'sent', 'received'], 'total'),
      f: p.getAll('f'),
      x: p.getAll('x'),
      drill: p.has('drill') ? p.get('drill') : null,
    };
  }

  // the URL of a view: this one, or s (state with some members changed)
  function stateURL(page, s) {
    s = s || state;
    const p = new URLSearchParams();
    if (s.range === 'custom') {
      if (s.from) p.set('from', s.from);
      if (s.until) p.set('until', s.until);
    } else if (s.range !== '1h') {
      p.set('range', s.range);
    }
    if (s.group !== 'exe') p.set('group', s.group);
    if (s.top !== '5') p.set('top', s.top);
    if (s.metric !== 'total') p.set('metric', s.metric);
    for (const v of s.f) p.append('f', v);
    for (const v of s.x) p.append('x', v);
    if (s.drill !== null && (page || s.page) === 'explore') p.set('drill', s.drill);
    if (s.refresh !== '0') p.set('refresh', s.refresh);
    if (s.units !== 'iec') p.set('units', s.units);
    if (s.theme) p.set('theme', s.theme);
    const qs = p.toString();
    return PATHS[page || s.page] + (qs ? '?' + qs : '');
  }

  function commit(push) {
    const url = stateURL();
    if (url !== location.pathname + location.search)
      history[push ? 'pushState' : 'replaceState'](null, '', url);
    render();
  }

  // the range as API parameters, with the filters
  function apiParams(extra) {
    const p = new URLSearchParams();
    if (state.range === 'custom') {
      if (state.from) p.set('from', state.from);
      if (state.until) p.set('until', state.until);
      if (!state.from && !state.until) p.set('range', '1h');
    } else {
      p.set('range', state.range);
    }
    for (const v of state.f) p.append('f', v);
    for (const v of state.x) p.append('x', v);
    for (const [k, v] of Object.entries(extra || {})) p.set(k, v);
    return p.toString();
  }

  async function api(name, extra) {
    const r = await fetch('/api/' + name + '?' + apiParams(extra), { credentials: 'same-origin' });
    let body = null;
    try { body = await r.json(); } catch (e) { body = null; }
    if (!r.ok) {
      const msg = body && body.error ? body.error : 'HTTP ' + r.status;
      const err = new Error(msg);
      err.status = r.status;
      throw err;
    }
    return body;
  }

  // ---- formatting ----

  function fmtBytes(n) {
    if (state.units === 'bytes') return Math.round(n).toLocaleString('en-US') + ' B';
    const si = state.units === 'si';
    const base = si ? 1000 : 1024;
    const units = si ? ['B', 'kB', 'MB', 'GB', 'TB', 'PB'] : ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
    let v = n;
    let i = 0;
    while (Math.abs(v) >= base && i < units.length - 1) { v /= base; i++; }
    return (i === 0 ? String(Math.round(v)) : v.toFixed(v < 10 ? 2 : v < 100 ? 1 : 0)) + ' ' + units[i];
  }
  const fmtCount = (n) => Number(n).toLocaleString('en-US');
  const pad = (n) => String(n).padStart(2, '0');
  function fmtTime(ns, short) {
    if (!ns) return '–';
    const d = new Date(ns / 1e6);
    const day = d.getFullYear() + '-' + pad(d.getMonth() + 1) + '-' + pad(d.getDate());
    const t = pad(d.getHours()) + ':' + pad(d.getMinutes());
    if (short === 'time') return t;
    if (short === 'day') return day;
    return day + ' ' + t + ':' + pad(d.getSeconds());
  }
  const label = (f) => LABELS[f] || f;
  function fmtDuration(ns) {
    const s = ns / 1e9;
    if (s >= 86400) return Math.round(s / 86400) + ' d';
    if (s >= 3600) return Math.round(s / 3600) + ' h';
    if (s >= 60) return Math.round(s / 60) + ' min';
    return Math.round(s) + ' s';
  }

  function el(tag, attrs, ...kids) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === 'class') e.className = v;
      else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
      else e.setAttribute(k, v);
    }
    for (const k of kids) if (k !== null && k !== undefined) e.append(k instanceof Node ? k : String(k));
    return e;
  }

  // a value as text: null is "(none)"; cmdline arrays shown as words
  // the labels the GeoIP lookup gives ranges that have no country
  const RANGE_LABELS = {
    private: 'a private network', loopback: 'this machine', 'link-local': 'the local link',
    cgnat: 'carrier-grade NAT', multicast: 'multicast', documentation: 'a range for examples',
  };
  let regions = null;
  try { regions = new Intl.DisplayNames(['en'], { type: 'region' }); } catch (e) { regions = null; }

  // text from the log as a person reads it: control characters, bidi
  // overrides and bytes of invalid UTF-8 (\udcXX, docs/records.md) made
  // visible, as the terminal views show them (\e, \n, \x07, U+FFFD): a
  // name is not disguised, and what is copied from the page is inert
  function shown(s) {
    return String(s).replace(/[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]|(?<![\ud800-\udbff])[\udc80-\udcff]/g, (c) => {
      const n = c.charCodeAt(0);
      if (n >= 0xdc80) return '\ufffd';
      const named = { '\x1b': '\\e', '\n': '\\n', '\r': '\\r', '\t': '\\t' }[c];
      if (named) return named;
      return n < 0x100 ? '\\x' + n.toString(16).padStart(2, '0') : '\\u' + n.toString(16).padStart(4, '0');
    });
  }

  function keyText(field, v) {
    if (v === null || v === undefined) return '(none)';
    if (field === 'country' && regions && /^[A-Z]{2}$/.test(v)) {
      // the code stays what a filter uses; the name is for reading
      let name = null;
      try { name = regions.of(v); } catch (e) { name = null; }
      return name && name !== v ? v + ' ' + name : v;
    }
    if (field === 'country' && RANGE_LABELS[v]) return v + ' (' + RANGE_LABELS[v] + ')';
    if (field && field.endsWith('cmdline')) {
      try {
        const a = JSON.parse(v);
        if (Array.isArray(a)) return shown(a.join(' '));
      } catch (e) { /* as stored */ }
    }
    return shown(v);
  }
  // a cell shows at most this much of a value (a command line may be
  // --cmdline-max, 8 kB, long); its title holds the whole
  const CELL_MAX = 400;
  function keyCell(field, v, cls) {
    const t = keyText(field, v);
    const c = el('td', { class: 'key' + (cls ? ' ' + cls : '') },
      t.length > CELL_MAX ? t.slice(0, CELL_MAX) + '…' : t);
    if (v === null || v === undefined) c.classList.add('none');
    if (field && (field.endsWith('sha256') || field.endsWith('cmdline'))) c.classList.add('mono');
    c.title = t;
    return c;
  }
  // the VirusTotal verdict of a sha256 ("vt" of the API): "VT 3/70" in red
  // when engines flag it, neutral when none do, grey when VirusTotal does
  // not know it; a link to its report when there is one; null: no verdict
  function vtBadge(vt) {
    if (!vt) return null;
    let text, cls = 'badge vt';
    if (vt.status === 'known') {
      text = 'VT ' + vt.flagged + '/' + vt.engines;
      if (vt.flagged > 0) cls += ' bad';
    } else {
      text = vt.status === 'not_found' ? 'VT: not found' : 'VT: ' + vt.status;
      cls += ' unknown';
    }
    const title = vt.status === 'known'
      ? vt.flagged + ' of ' + vt.engines + ' VirusTotal engines flag it' : 'VirusTotal: ' + vt.status;
    if (vt.link && /^https:\/\//.test(vt.link))
      return el('a', { class: cls, href: vt.link, target: '_blank', rel: 'noopener noreferrer', title }, text);
    return el('span', { class: cls, title }, text);
  }
  const rowKey = (row, field) => (row.other ? null : row[field] === undefined ? null : row[field]);
  const total = (r) => r.sent + r.received;
  const metricOf = (r) => (state.metric === 'sent' ? r.sent : state.metric === 'received' ? r.received : total(r));

  // ---- errors ----

  function showError(e) {
    const box = $('error');
    dbDown = e.status === 503;
    box.replaceChildren(el('strong', {}, dbDown ? 'The database cannot be read' : 'Error'),
      el('span', {}, e.message),
      dbDown ? el('p', {}, 'This page asks again every 5 seconds.') : null);
    box.hidden = false;
    if (dbDown) {
      syncControls();
      $('meta').textContent = 'no database';
      if (state.refresh === '0' && !timer) timer = setInterval(tick, 5000);
    }
  }
  function clearError() {
    $('error').hidden = true;
    if (dbDown) {
      dbDown = false;
      syncControls();
      if (state.refresh === '0' && timer) { clearInterval(timer); timer = null; }
    }
  }

  // ---- controls ----

  function fillFieldSelect(sel) {
    const fields = meta ? meta.fields : Object.keys(LABELS);
    sel.replaceChildren(...fields.map((f) => el('option', { value: f }, label(f))));
  }

  function toLocalInput(s) {
    if (!s) return '';
    const d = new Date(Number(s) * 1000);
    return d.getFullYear() + '-' + pad(d.getMonth() + 1) + '-' + pad(d.getDate()) + 'T' +
      pad(d.getHours()) + ':' + pad(d.getMinutes());
  }
  function fromLocalInput(v) {
    if (!v) return null;
    const t = new Date(v).getTime();
    return isNaN(t) ? null : String(Math.floor(t / 1000));
  }

  function effectiveTheme() {
    if (state.theme) return state.theme;
    return window.matchMedia && window.matchMedia('(prefers-color-scheme: dark)').matches ? 'dark' : 'light';
  }

  function syncControls() {
    document.documentElement.dataset.theme = effectiveTheme();
    $('range').value = state.range;
    $('custom').hidden = state.range !== 'custom';
    $('from').value = toLocalInput(state.from);
    $('until').value = toLocalInput(state.until);
    $('refresh').value = state.refresh;
    $('units').value = state.units;
    for (const s of document.querySelectorAll('.field-select')) s.value = state.group;
    $('ov-top').value = state.top;
    for (const b of document.querySelectorAll('#metric button'))
      b.classList.toggle('on', b.dataset.metric === state.metric);
    for (const a of document.querySelectorAll('nav a'))
      a.classList.toggle('active', a.dataset.page === state.page);
    for (const a of document.querySelectorAll('a[data-page]')) a.href = stateURL(a.dataset.page);
    for (const p of Object.keys(PATHS)) $('page-' + p).hidden = p !== state.page || dbDown;
    $('ov-table-field').textContent = label(state.group);
    const names = { overview: 'Overview', explore: 'Explore', executables: 'Executables' };
    document.title = 'snitch · ' + names[state.page];
  }

  function renderFilters() {
    const box = $('filters');
    const chips = [];
    const chip = (list, i, exclude) => {
      const v = list[i];
      const c = v.indexOf(':');
      const f = v.slice(0, c);
      const val = v.slice(c + 1);
      const text = label(f) + (exclude ? ' ≠ ' : ' = ') + keyText(f, val === '' ? null : val);
      return el('span', { class: 'chip' + (exclude ? ' exclude' : ''), title: text },
        el('span', {}, text),
        el('button', {
          type: 'button', title: 'remove this ' + (exclude ? 'exclusion' : 'filter'),
          onclick: () => { list.splice(i, 1); commit(true); },
        }, '✕'));
    };
    state.f.forEach((v, i) => chips.push(chip(state.f, i, false)));
    state.x.forEach((v, i) => chips.push(chip(state.x, i, true)));
    if (chips.length) {
      chips.unshift(el('span', { class: 'help' }, 'Filters (on every page):'));
      chips.push(el('button', { type: 'button', onclick: () => { state.f = []; state.x = []; commit(true); } },
        'clear all'));
    }
    box.replaceChildren(...chips);
    box.hidden = chips.length === 0;
  }

  // ---- overview ----

  function setCard(id, value, text) {
    const c = $(id);
    c.textContent = text;
    c.dataset.value = String(value);
  }

  function cssVar(name) {
    return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
  }

  // a step of the y axis that reads well in the chosen units: 1, 2 or 5
  // times a power of 1024 (KiB, MiB) or of 1000
  function niceStep(max) {
    if (!(max > 0)) return undefined;
    const base = state.units === 'iec' ? 1024 : 1000;
    const raw = max / 5;
    const unit = Math.pow(base, Math.max(0, Math.floor(Math.log(raw) / Math.log(base))));
    const m = raw / unit;
    const pow10 = Math.pow(10, Math.floor(Math.log10(m)));
    const f = m / pow10;
    return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * pow10 * unit;
  }

  function drawChart(series) {
    const field = series.field;
    const step = series.bucket_ns;
    const keyOf = (p) => (p.other ? '\u0000other' : field ? (p[field] === null ? '\u0000none' : String(p[field])) : 'all');
    const sums = new Map();
    for (const p of series.points) sums.set(keyOf(p), (sums.get(keyOf(p)) || 0) + metricOf(p));
    const keys = [...sums.keys()].sort((a, b) => {
      if (a === '\u0000other') return 1;
      if (b === '\u0000other') return -1;
      return sums.get(b) - sums.get(a);
    });
    // every bucket of the range (or of the data, for all time), empty ones too
    let lo = series.from_ns > 0 ? Math.floor(series.from_ns / step) * step : Infinity;
    let hi = -Infinity;
    for (const p of series.points) { lo = Math.min(lo, p.bucket_ns); hi = Math.max(hi, p.bucket_ns); }
    if (series.from_ns > 0) hi = Math.max(hi, Math.floor((series.until_ns - 1) / step) * step);
    // ns times are past 2^53: JSON numbers lose their last bits, so a
    // point's bucket is found by arithmetic, never by equality
    const buckets = [];
    if (isFinite(lo) && isFinite(hi))
      for (let i = 0; i <= Math.round((hi - lo) / step) && i < 2000; i++) buckets.push(lo + i * step);
    const slot = (t) => Math.round((t - lo) / step);
    const colors = new Map();
    const datasets = keys.map((k, i) => {
      const color = k === '\u0000other' ? OTHER_COLOR : PALETTE[i % PALETTE.length];
      colors.set(k, color);
      const name = k === '\u0000other' ? 'other' : k === '\u0000none' ? '(none)' : field ? keyText(field, k) : 'all traffic';
      return {
        label: name.length > 48 ? '…' + name.slice(-47) : name,
        data: new Array(buckets.length).fill(0),
        backgroundColor: color, borderColor: color, borderWidth: 0, stack: 's',
      };
    });
    for (const p of series.points) {
      const i = slot(p.bucket_ns);
      if (i >= 0 && i < buckets.length) datasets[keys.indexOf(keyOf(p))].data[i] += metricOf(p);
    }
    const dayish = step >= 86400e9 || (buckets.length && buckets[buckets.length - 1] - buckets[0] > 2 * 86400e9);
    const labels = buckets.map((b) => (dayish && step >= 86400e9 ? fmtTime(b, 'day') :
      dayish ? fmtTime(b, 'day') + ' ' + fmtTime(b, 'time') : fmtTime(b, 'time')));
    $('chart-empty').hidden = series.points.length > 0;
    const fg = cssVar('--muted');
    const grid = cssVar('--line');
    const cfg = {
      type: 'bar',
      data: { labels, datasets },
      options: {
        responsive: true, maintainAspectRatio: false, animation: false,
        interaction: { mode: 'index', intersect: false },
        scales: {
          x: { stacked: true, ticks: { color: fg, maxTicksLimit: 12, maxRotation: 0 }, grid: { display: false } },
          y: {
            stacked: true, beginAtZero: true, grid: { color: grid },
            ticks: { color: fg, stepSize: niceStep(Math.max(0, ...buckets.map((b, i) =>
              datasets.reduce((sum, d) => sum + d.data[i], 0)))), callback: (v) => fmtBytes(v) },
          },
        },
        plugins: {
          legend: { position: 'bottom', labels: { color: fg, boxWidth: 12 } },
          tooltip: {
            callbacks: {
              title: (items) => (items.length ? fmtTime(buckets[items[0].dataIndex]) + ' (' + fmtDuration(step) + ')' : ''),
              label: (c) => c.dataset.label + ': ' + fmtBytes(c.parsed.y),
            },
          },
        },
      },
    };
    if (chart) chart.destroy();
    chart = new window.Chart($('chart'), cfg);
    $('chart-title').textContent = (state.metric === 'total' ? 'Bytes sent + received' :
      state.metric === 'sent' ? 'Bytes sent' : 'Bytes received') + ' over time';
    return colors;
  }

  function groupTable(table, field, rows, opts) {
    const head = el('tr', {}, el('th', {}, label(field)), el('th', { class: 'num' }, 'sent'),
      el('th', { class: 'num' }, 'received'), el('th', { class: 'num' }, 'total'),
      el('th', { class: 'num' }, 'connections'), el('th', { class: 'time' }, 'first seen'),
      el('th', { class: 'time' }, 'last seen'), opts.drill ? el('th', {}, '') : null);
    const body = el('tbody');
    for (const r of rows) {
      const key = rowKey(r, field);
      const kc = r.other ? el('td', { class: 'key' }, 'other (the rest)') : keyCell(field, key);
      if (opts.colors) {
        const c = opts.colors.get(r.other ? '\u0000other' : key === null ? '\u0000none' : String(key));
        if (c) {
          const sw = el('span', { class: 'swatch' });
          sw.style.background = c;
          kc.prepend(sw);
        }
      }
      if (field === 'raddr' && r.country) kc.append(' ', el('span', { class: 'badge' }, r.country));
      if (r.vt) kc.append(' ', vtBadge(r.vt));
      const tr = el('tr', { class: r.other ? 'other' : '' }, kc,
        el('td', { class: 'num', 'data-value': r.sent }, fmtBytes(r.sent)),
        el('td', { class: 'num', 'data-value': r.received }, fmtBytes(r.received)),
        el('td', { class: 'num', 'data-value': total(r) }, fmtBytes(total(r))),
        el('td', { class: 'num', 'data-value': r.connections }, fmtCount(r.connections)),
        el('td', { class: 'time' }, fmtTime(r.first_ns)), el('td', { class: 'time' }, fmtTime(r.last_ns)));
      if (opts.drill) {
        const td = el('td');
        if (!r.other)
          td.append(el('button', {
            type: 'button', class: 'row-more', title: 'details of this ' + label(field),
            onclick: (ev) => { ev.stopPropagation(); opts.drill(key); },
          }, '⋯'));
        tr.append(td);
      }
      if (opts.click && !r.other) {
        tr.title = 'click: keep only this · Alt/Ctrl-click: exclude it';
        tr.tabIndex = 0;
        const pick = (ev) => opts.click(key, ev.altKey || ev.ctrlKey || ev.metaKey || ev.shiftKey);
        tr.addEventListener('click', pick);
        tr.addEventListener('keydown', (ev) => { if (ev.key === 'Enter') pick(ev); });
      }
      body.append(tr);
    }
    if (!rows.length)
      body.append(el('tr', {}, el('td', { colspan: opts.drill ? 8 : 7, class: 'empty' }, 'Nothing in this range.')));
    table.replaceChildren(el('thead', {}, head), body);
  }

  // the outcomes of an attempt that got nowhere (docs/records.md)
  const FAILED = ['refused', 'timeout', 'unreachable', 'error'];
  // where the card leads: Explore by outcome, the range and filters kept
  const FAILED_VIEW = { page: 'explore', group: 'outcome', drill: null };

  async function loadOverview(gen) {
    // a log older than schema 10 has no outcome field: no card
    const outcomes = meta && meta.fields.includes('outcome');
    const [sum, series, group, byOutcome] = await Promise.all([
      api('summary'),
      api('series', { group: state.group, top: state.top }),
      api('group', { group: state.group, top: state.top }),
      outcomes ? api('group', { group: 'outcome', top: '50' }) : null,
    ]);
    if (gen !== generation) return;
    const t = sum.totals;
    setCard('card-sent', t.sent, fmtBytes(t.sent));
    setCard('card-received', t.received, fmtBytes(t.received));
    setCard('card-connections', t.connections, fmtCount(t.connections));
    setCard('card-executables', t.executables, fmtCount(t.executables));
    setCard('card-new', t.new_executables, fmtCount(t.new_executables));
    $('card-failed-box').hidden = !byOutcome;
    if (byOutcome) {
      const failed = byOutcome.rows.filter((r) => !r.other && FAILED.includes(r.outcome))
        .reduce((n, r) => n + r.connections, 0);
      setCard('card-failed', failed, fmtCount(failed));
      // the link of a new tab; a click goes there in this one (wire())
      $('card-failed').href = stateURL(null, Object.assign({}, state, FAILED_VIEW));
    }
    const colors = drawChart(series);
    $('ov-table-field').textContent = label(state.group);
    groupTable($('ov-table'), state.group, group.rows, { colors });
  }

  // ---- explore ----

  function addFilter(field, key, exclude) {
    const v = field + ':' + (key === null ? '' : String(key));
    const list = exclude ? state.x : state.f;
    if (!list.includes(v)) list.push(v);
    state.drill = null;
    commit(true);
  }

  function drillList(title, field, rows) {
    const box = el('div', {}, el('h3', {}, title));
    if (!rows || !rows.length) {
      box.append(el('p', { class: 'none' }, 'none'));
      return box;
    }
    const t = el('table', { class: 'data' });
    const body = el('tbody');
    for (const r of rows) {
      const kc = r.other ? el('td', { class: 'key' }, 'other') : keyCell(field, rowKey(r, field));
      if (field === 'sha256' && !r.other && r.sha256) kc.textContent = r.sha256.slice(0, 16) + '…';
      if (r.country) kc.append(' ', el('span', { class: 'badge', title: keyText('country', r.country) }, r.country));
      if (r.vt) kc.append(' ', vtBadge(r.vt));
      // an outcome is told by its count: most attempts that got nowhere carried 0 B
      const amount = field === 'outcome'
        ? fmtCount(r.connections) + (r.connections === 1 ? ' connection, ' : ' connections, ') + fmtBytes(total(r))
        : fmtBytes(total(r));
      body.append(el('tr', { class: r.other ? 'other' : '' }, kc,
        el('td', { class: 'num', 'data-value': total(r) }, amount)));
    }
    t.append(body);
    box.append(t);
    return box;
  }

  async function loadDrill(gen) {
    const panel = $('drill');
    const page = $('page-explore');
    if (state.drill === null) {
      panel.hidden = true;
      page.classList.remove('with-drill');
      return;
    }
    const d = (await api('drill', { field: state.group, value: state.drill })).drill;
    if (gen !== generation) return;
    panel.hidden = false;
    page.classList.add('with-drill');
    $('drill-title').textContent = label(state.group) + ': ' + keyText(state.group, d.value);
    const t = d.totals;
    const kv = el('dl', { class: 'kv' },
      el('dt', {}, 'sent'), el('dd', {}, fmtBytes(t.sent)),
      el('dt', {}, 'received'), el('dd', {}, fmtBytes(t.received)),
      el('dt', {}, 'connections'), el('dd', {}, fmtCount(t.connections)),
      el('dt', {}, 'first seen'), el('dd', {}, fmtTime(t.first_ns)),
      el('dt', {}, 'last seen'), el('dd', {}, fmtTime(t.last_ns)));
    const grid = el('div', { class: 'drill-grid' },
      drillList('Domains', 'domain', d.domains),
      drillList('Remote addresses (country)', 'raddr', d.addresses),
      drillList('Remote ports', 'rport', d.ports),
      drillList('Parents', 'parent_exe', d.parents),
      drillList('Users (uid)', 'user', d.users),
      drillList('sha256 values', 'sha256', d.sha256));
    // an interpreter's scripts, a sandboxed app, what became of its
    // connections (none for datagrams): shown when there are any
    for (const [title, field, rows] of [['Scripts', 'script', d.scripts], ['Apps', 'app', d.apps],
      ['Outcomes', 'outcome', d.outcomes]])
      if ((rows || []).some((r) => r.other || rowKey(r, field) !== null))
        grid.append(drillList(title, field, rows));
    $('drill-body').replaceChildren(kv, grid);
  }

  async function loadExplore(gen) {
    const [group] = await Promise.all([
      api('group', { group: state.group, top: '50' }),
      loadDrill(gen),
    ]);
    if (gen !== generation) return;
    groupTable($('ex-table'), state.group, group.rows, {
      click: (key, exclude) => addFilter(state.group, key, exclude),
      drill: (key) => { state.drill = key === null ? '' : String(key); commit(false); },
    });
  }

  // ---- executables ----

  async function loadExecutables(gen) {
    const r = await api('executables');
    if (gen !== generation) return;
    const head = el('tr', {}, el('th', {}, 'executable'), el('th', {}, 'name'),
      el('th', {}, 'sha256 values over time'), el('th', {}, 'first seen'), el('th', {}, 'last seen'),
      el('th', { class: 'num' }, 'sent'), el('th', { class: 'num' }, 'received'));
    const body = el('tbody');
    for (const e of r.executables) {
      const hashes = el('ul', { class: 'hashes' });
      const many = (e.sha256 || []).length > 1;
      for (const h of e.sha256 || [])
        hashes.append(el('li', {}, el('span', { class: 'mono', title: h.sha256 || '' },
          h.sha256 ? h.sha256.slice(0, 16) + '…' : '(not hashed)'),
        h.vt ? ' ' : null, vtBadge(h.vt),
        // one value: its times are the executable's; several: when each was seen
        many ? el('span', { class: 'time' }, ' ', fmtTime(h.first_ns), ' → ', fmtTime(h.last_ns)) : null));
      const name = el('td', {}, shown(e.name || ''));
      if ((e.sha256 || []).length > 1)
        name.append(' ', el('span', { class: 'badge warn', title: 'its sha256 changed in this range' }, 'modified'));
      body.append(el('tr', {}, keyCell('exe', e.exe), name, el('td', {}, hashes),
        el('td', { class: 'time' }, fmtTime(e.first_ns)), el('td', { class: 'time' }, fmtTime(e.last_ns)),
        el('td', { class: 'num', 'data-value': e.sent }, fmtBytes(e.sent)),
        el('td', { class: 'num', 'data-value': e.received }, fmtBytes(e.received))));
    }
    if (!r.executables.length)
      body.append(el('tr', {}, el('td', { colspan: 7, class: 'empty' }, 'No executable in this range.')));
    $('exe-table').replaceChildren(el('thead', {}, head), body);
  }

  // ---- loading ----

  async function loadMeta() {
    meta = await api('meta');
    for (const s of document.querySelectorAll('.field-select')) fillFieldSelect(s);
    $('meta').textContent = 'database ' + meta.db + ' · schema ' + meta.schema_version +
      (meta.rollups ? '' : ' (no rollups)') + ' · about ' + fmtCount(meta.rows) + ' rows · snitch ' + meta.version;
  }

  // a refresh while the last load still runs waits for the next turn: on a
  // slow query the server (one database connection) would only queue them
  let inflight = 0;
  function tick() { if (!inflight) load(); }

  async function load() {
    const gen = ++generation;
    inflight++;
    try {
      if (!meta) await loadMeta();
      syncControls();
      if (state.page === 'overview') await loadOverview(gen);
      else if (state.page === 'explore') await loadExplore(gen);
      else await loadExecutables(gen);
      if (gen !== generation) return;
      clearError();
      $('updated').textContent = 'updated ' + fmtTime(Date.now() * 1e6);
    } catch (e) {
      if (gen !== generation) return;
      showError(e);
    } finally {
      inflight--;
      // a load that a newer one replaced does not count
      if (gen === generation) document.body.dataset.loads = String(++loads);
    }
  }

  function render() {
    syncControls();
    renderFilters();
    if (timer) clearInterval(timer);
    timer = state.refresh !== '0' ? setInterval(tick, Number(state.refresh) * 1000) : null;
    load();
  }

  function wire() {
    for (const s of document.querySelectorAll('.field-select')) fillFieldSelect(s);
    $('range').addEventListener('change', (e) => {
      state.range = e.target.value;
      if (state.range === 'custom' && !state.from) {
        const now = Math.floor(Date.now() / 1000);
        state.from = String(now - 86400);
        state.until = String(now);
      }
      if (state.range !== 'custom') { state.from = null; state.until = null; }
      commit(false);
    });
    $('from').addEventListener('change', (e) => { state.from = fromLocalInput(e.target.value); commit(false); });
    $('until').addEventListener('change', (e) => { state.until = fromLocalInput(e.target.value); commit(false); });
    $('refresh').addEventListener('change', (e) => { state.refresh = e.target.value; commit(false); });
    $('units').addEventListener('change', (e) => { state.units = e.target.value; commit(false); });
    $('theme').addEventListener('click', () => {
      state.theme = effectiveTheme() === 'dark' ? 'light' : 'dark';
      commit(false);
    });
    for (const s of document.querySelectorAll('.field-select'))
      s.addEventListener('change', (e) => { state.group = e.target.value; state.drill = null; commit(false); });
    $('ov-top').addEventListener('change', (e) => { state.top = e.target.value; commit(false); });
    for (const b of document.querySelectorAll('#metric button'))
      b.addEventListener('click', () => { state.metric = b.dataset.metric; commit(false); });
    $('drill-close').addEventListener('click', () => { state.drill = null; commit(false); });
    for (const a of document.querySelectorAll('a[data-page]'))
      a.addEventListener('click', (e) => {
        if (e.ctrlKey || e.metaKey || e.shiftKey || e.button !== 0) return;
        e.preventDefault();
        state.page = a.dataset.page;
        commit(true);
      });
    $('card-failed').addEventListener('click', (e) => {
      if (e.ctrlKey || e.metaKey || e.shiftKey || e.button !== 0) return;
      e.preventDefault();
      Object.assign(state, FAILED_VIEW);
      commit(true);
    });
    window.addEventListener('popstate', () => { readState(); render(); });
  }

  readState();
  wire();
  render();
})();
