/**
 * The live dashboard: one self-contained page (inline CSS and JS, no framework, no build step).
 * It loads `/breakers`, then follows `/events`; every card carries `data-target` and
 * `data-state` so tests and scripts can read it. Data only ever reaches the DOM as text
 * (`textContent`), never as markup, and the page's CSP allows exactly its own inline style and
 * script by hash. Behind a token the page has a sign-out button, and an answer of 401 (the session
 * ended, or the process restarted) sends it to the login form.
 */
import { createHash } from 'node:crypto';

const STYLE = `
:root{--bg:#f6f8fa;--card:#fff;--fg:#1f2328;--muted:#59636e;--line:#d1d9e0;--closed:#1a7f37;--open:#cf222e;--half:#9a6700;--req:#0969da;
font:14px/1.4 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);background:var(--bg)}
@media (prefers-color-scheme:dark){:root{--bg:#0d1117;--card:#151b23;--fg:#e6edf3;--muted:#9198a1;--line:#3d444d;--closed:#3fb950;--open:#f85149;--half:#d29922;--req:#4493f8}}
*{box-sizing:border-box}
body{margin:0;padding:16px 20px}
.top{display:flex;flex-wrap:wrap;align-items:baseline;gap:4px 16px;margin-bottom:14px}
h1{font-size:18px;margin:0}
.summary,.conn{margin:0;color:var(--muted)}
.signout{margin:0 0 0 auto}
.signout button{font:inherit;font-size:12px;color:var(--fg);background:var(--card);border:1px solid var(--line);border-radius:6px;padding:2px 10px;cursor:pointer}
.conn::before{content:"";display:inline-block;width:8px;height:8px;border-radius:50%;margin-right:6px;background:var(--muted)}
.conn[data-conn=live]::before{background:var(--closed)}
.conn[data-conn=down]::before{background:var(--open)}
.sr-only{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(300px,1fr));gap:12px}
.card{--state:var(--closed);background:var(--card);border:1px solid var(--line);border-left:4px solid var(--state);border-radius:8px;padding:10px 12px}
.card[data-state=OPEN]{--state:var(--open)}
.card[data-state=HALF_OPEN]{--state:var(--half)}
.card.changed{animation:flash 1s ease-out}
@keyframes flash{from{box-shadow:0 0 0 3px var(--state)}to{box-shadow:0 0 0 0 transparent}}
.head{display:flex;align-items:center;gap:8px}
.symbol{flex:none;width:40px;height:20px;color:var(--state);stroke:currentColor;stroke-width:2.5;stroke-linecap:round;fill:none}
.symbol circle{fill:currentColor;stroke:none}
.lever{transform-origin:12px 16px;transition:transform .25s}
.card[data-state=OPEN] .lever{transform:rotate(-38deg)}
.card[data-state=HALF_OPEN] .lever{transform:rotate(-16deg)}
.origin{font-size:14px;font-weight:600;margin:0;flex:1;min-width:0;overflow:hidden;text-overflow:ellipsis;white-space:nowrap}
.badge{flex:none;font-size:11px;font-weight:700;letter-spacing:.04em;color:#fff;background:var(--state);border-radius:10px;padding:1px 8px}
.routes,.health{margin:2px 0 6px 48px;color:var(--muted);font-size:12px;overflow:hidden;text-overflow:ellipsis;white-space:nowrap}
.stats{display:grid;grid-template-columns:repeat(3,1fr);gap:4px 8px;margin:0}
.stats div{min-width:0}
.stats dt{font-size:11px;color:var(--muted)}
.stats dd{margin:0;font-variant-numeric:tabular-nums;white-space:nowrap}
.probe{margin:6px 0 2px;min-height:1.4em;font-size:12px;color:var(--muted);font-variant-numeric:tabular-nums}
.card[data-state=OPEN] .probe,.card[data-state=HALF_OPEN] .probe{color:var(--state);font-weight:600}
.spark{display:block;width:100%;height:36px;border-bottom:1px solid var(--line)}
.spark .req{fill:none;stroke:var(--req);stroke-width:1.5;vector-effect:non-scaling-stroke}
.spark .area{fill:var(--req);opacity:.12}
.spark .err{fill:none;stroke:var(--open);stroke-width:1.5;vector-effect:non-scaling-stroke}
.legend{display:flex;justify-content:space-between;font-size:11px;color:var(--muted);margin:2px 0 4px}
.key-req{color:var(--req)}.key-err{color:var(--open)}
.timeline{list-style:none;margin:0;padding:0;max-height:84px;overflow-y:auto;font-size:12px;font-variant-numeric:tabular-nums}
.timeline li{display:flex;gap:8px;padding:1px 0}
.timeline time{color:var(--muted)}
.timeline .to-OPEN{color:var(--open)}.timeline .to-HALF_OPEN{color:var(--half)}.timeline .to-CLOSED{color:var(--closed)}
.timeline:empty::before{content:"No transitions yet";color:var(--muted)}
@media (prefers-reduced-motion:reduce){.lever{transition:none}.card.changed{animation:none}}
`;

// Plain ES2017, no template literals: this text sits inside a TypeScript template literal.
const SCRIPT = `
'use strict';
var MAX_POINTS = 300, MAX_TRANSITIONS = 50;
var LABELS = { CLOSED: 'CLOSED', OPEN: 'OPEN', HALF_OPEN: 'HALF-OPEN' };
var cards = new Map();
var skew = 0;
var source = null;
var byId = function (id) { return document.getElementById(id); };

function fixed(v, digits) { return Number(v).toFixed(digits); }
function rate(v) { return (v >= 100 ? fixed(v, 0) : v >= 10 ? fixed(v, 1) : fixed(v, 2)) + '/s'; }
function millis(v) {
  if (v === null || v === undefined) return '\\u2013';
  if (v >= 1000) return fixed(v / 1000, v >= 10000 ? 0 : 1) + ' s';
  return fixed(v, v >= 10 ? 0 : 1) + ' ms';
}
function ratio(r) { return r === null || r === undefined ? '\\u2013' : fixed(r * 100, r === 0 || r >= 0.1 ? 0 : 1) + '%'; }
function clock(t) { return new Date(t).toLocaleTimeString([], { hour12: false }); }
function now() { return Date.now() + skew; }

function cardFor(origin) {
  var c = cards.get(origin);
  if (c) return c;
  var node = byId('card').content.firstElementChild.cloneNode(true);
  node.dataset.target = origin;
  var q = function (s) { return node.querySelector(s); };
  c = { origin: origin, node: node, points: [], transitions: [], state: null, forced: false, nextAttemptAt: null,
    els: { origin: q('.origin'), badge: q('.badge'), routes: q('.routes'), health: q('.health'), failures: q('.failures'), rps: q('.rps'),
      errors: q('.errors'), p50: q('.p50'), p99: q('.p99'), inflight: q('.inflight'), retried: q('.retried'), probe: q('.probe'),
      area: q('.area'), req: q('.req'), err: q('.err'), spark: q('.spark'), timeline: q('.timeline') } };
  c.els.origin.textContent = origin;
  c.els.origin.title = origin;
  node.addEventListener('animationend', function () { node.classList.remove('changed'); });
  var before = null;
  cards.forEach(function (other) { if (other.origin > origin && (before === null || other.origin < before.origin)) before = other; });
  byId('cards').insertBefore(node, before === null ? null : before.node);
  cards.set(origin, c);
  return c;
}

function setState(c, state, forced, nextAttemptAt) {
  c.state = state;
  c.forced = forced;
  c.nextAttemptAt = nextAttemptAt;
  c.node.dataset.state = state;
  c.els.badge.textContent = forced ? LABELS[state] + ' \\u00b7 manual' : LABELS[state];
  c.els.spark.setAttribute('aria-label', 'Requests and errors per second, last ' + Math.max(1, Math.round(c.points.length / 60)) + ' min');
  probe(c);
}

function failures(c, count, threshold) {
  c.els.failures.textContent = count + ' / ' + (threshold === null ? '\\u221e' : threshold);
}

function apply(c, t) {
  if (t.state !== c.state || t.forced !== c.forced) setState(c, t.state, t.forced, t.nextAttemptAt);
  else c.nextAttemptAt = t.nextAttemptAt;
  failures(c, t.failures, t.failureThreshold);
  c.threshold = t.failureThreshold;
  var extra = (t.queued ? ' \\u00b7 queued ' + t.queued : '') + (t.requests.fallback ? ' \\u00b7 fallbacks ' + t.requests.fallback : '');
  c.els.routes.textContent = (t.routes.length ? 'routes: ' + t.routes.join(', ') : '') + extra;
  c.els.health.textContent = health(t.health);
  c.els.rps.textContent = rate(t.rates.requestRate);
  c.els.errors.textContent = rate(t.rates.errorRate) + ' \\u00b7 ' + ratio(t.rates.errorRatio);
  c.els.p50.textContent = millis(t.latency.p50Ms);
  c.els.p99.textContent = millis(t.latency.p99Ms);
  c.els.inflight.textContent = String(t.inFlight);
  // Answers dropped for a retry elsewhere (retryOn): shown once there are any.
  c.els.retried.parentNode.hidden = !t.statusRetries;
  c.els.retried.textContent = t.statusRetries + (t.retryAfterAt !== null && t.retryAfterAt > now() ? ' \\u00b7 Retry-After' : '');
}

function health(h) {
  if (!h) return '';
  var text = 'health: ' + h.status + (h.inRotation ? '' : ', out of rotation');
  if (h.lastResult !== null) text += ' \u00b7 last check ' + (h.lastResult === 'pass' ? 'passed' : 'failed') + ' at ' + clock(h.checkedAt);
  return text;
}

function probe(c) {
  var text = '';
  if (c.state === 'OPEN') {
    if (c.forced) text = 'Held open manually: no probes';
    else if (c.nextAttemptAt === null) text = 'Open';
    else {
      var left = c.nextAttemptAt - now();
      text = left > 0 ? 'Next probe in ' + fixed(left / 1000, left < 10000 ? 1 : 0) + ' s' : 'Probe due: the next request tests the target';
    }
  } else if (c.state === 'HALF_OPEN') text = 'Probing: the next result decides';
  if (c.els.probe.textContent !== text) c.els.probe.textContent = text;
}

function spark(c) {
  var pts = c.points, n = pts.length, max = 1, i;
  for (i = 0; i < n; i++) if (pts[i].requests > max) max = pts[i].requests;
  // A fixed time axis (1 s per point): the first minute fills the width, then it widens to 5 min.
  var span = Math.max(60, n) - 1;
  var x = function (k) { return fixed(300 - (n - 1 - k) * (300 / span), 1); };
  var y = function (v) { return fixed(35 - (v / max) * 32, 1); };
  var req = '', err = '';
  for (i = 0; i < n; i++) {
    req += (i ? 'L' : 'M') + x(i) + ' ' + y(pts[i].requests);
    err += (i ? 'L' : 'M') + x(i) + ' ' + y(pts[i].errors);
  }
  c.els.req.setAttribute('d', req);
  c.els.err.setAttribute('d', err);
  c.els.area.setAttribute('d', n ? req + 'L' + x(n - 1) + ' 36L' + x(0) + ' 36Z' : '');
}

function timeline(c) {
  var list = c.els.timeline, items = [];
  for (var i = c.transitions.length - 1; i >= 0; i--) {
    var t = c.transitions[i];
    var li = document.createElement('li');
    var time = document.createElement('time');
    time.dateTime = new Date(t.time).toISOString();
    time.textContent = clock(t.time);
    var what = document.createElement('span');
    what.className = 'to-' + t.to;
    what.textContent = LABELS[t.from] + ' \\u2192 ' + LABELS[t.to];
    li.append(time, what);
    if (t.to === 'OPEN' && t.failures > 0) {
      var why = document.createElement('span');
      why.textContent = '(' + t.failures + ' failures)';
      li.append(why);
    }
    items.push(li);
  }
  list.replaceChildren.apply(list, items);
}

function push(list, item, max) {
  list.push(item);
  if (list.length > max) list.splice(0, list.length - max);
}

function summary() {
  var counts = { CLOSED: 0, OPEN: 0, HALF_OPEN: 0 };
  cards.forEach(function (c) { counts[c.state] = (counts[c.state] || 0) + 1; });
  byId('summary').textContent = cards.size + (cards.size === 1 ? ' target' : ' targets') + ' \\u00b7 ' + counts.CLOSED + ' closed \\u00b7 ' +
    counts.OPEN + ' open \\u00b7 ' + counts.HALF_OPEN + ' half-open';
  byId('empty').hidden = cards.size > 0;
}

function prune(present) {
  cards.forEach(function (c, origin) {
    if (!present.has(origin)) { c.node.remove(); cards.delete(origin); }
  });
}

/** Applies a snapshot or stats message: each target its card, then more(card, target); cards of gone targets go. */
function update(data, more) {
  skew = data.time - Date.now();
  var present = new Set();
  data.targets.forEach(function (t) {
    present.add(t.target);
    var c = cardFor(t.target);
    apply(c, t);
    more(c, t);
  });
  prune(present);
  summary();
}

function onSnapshot(data) {
  update(data, function (c, t) {
    c.points = t.history.slice(-MAX_POINTS);
    c.transitions = t.transitions.slice(-MAX_TRANSITIONS);
    spark(c);
    timeline(c);
  });
}

function onStats(data) {
  update(data, function (c, t) {
    if (t.point) { push(c.points, t.point, MAX_POINTS); spark(c); }
  });
}

function onState(d) {
  var c = cardFor(d.target);
  setState(c, d.to, d.forced, d.nextAttemptAt);
  if (d.to === 'OPEN' || d.to === 'CLOSED') failures(c, d.failures, c.threshold === undefined ? null : c.threshold);
  var last = c.transitions[c.transitions.length - 1];
  if (!last || last.time !== d.time || last.to !== d.to || last.from !== d.from) {
    push(c.transitions, { from: d.from, to: d.to, failures: d.failures, time: d.time }, MAX_TRANSITIONS);
    timeline(c);
  }
  c.node.classList.remove('changed');
  void c.node.offsetWidth;
  c.node.classList.add('changed');
  byId('announce').textContent = d.target + ' is now ' + LABELS[d.to] + ' (was ' + LABELS[d.from] + ')';
  summary();
}

function status(kind, text) {
  var el = byId('conn');
  el.dataset.conn = kind;
  el.textContent = text;
}

function signIn() { location.assign('login'); }

function load() {
  return fetch('breakers', { cache: 'no-store' }).then(function (r) {
    if (r.status === 401) signIn();
    if (!r.ok) throw new Error('HTTP ' + r.status);
    return r.json();
  }).then(onSnapshot);
}

function connect() {
  source = new EventSource('events');
  source.addEventListener('open', function () {
    // Subscribed first, then loaded: a change in between is in the snapshot or arrives as an event.
    load().then(function () { status('live', 'live'); }, function (e) { status('down', 'could not load /breakers: ' + e.message); });
  });
  source.addEventListener('error', function () {
    if (source.readyState !== EventSource.CLOSED) { status('down', 'reconnecting\\u2026'); return; }
    // The browser gives up on a stream it was refused: 401 once the session ended, 503 when full.
    status('down', 'disconnected');
    var retry = function () { setTimeout(connect, 5000); };
    load().then(retry, retry);
  });
  source.addEventListener('state', function (e) { onState(JSON.parse(e.data)); });
  source.addEventListener('stats', function (e) { onStats(JSON.parse(e.data)); });
}

setInterval(function () { cards.forEach(probe); }, 200);
connect();
`;

/** The sign-out button, on the page of an admin server with a token. */
const SIGN_OUT = '<form class="signout" method="post" action="logout"><button type="submit">Sign out</button></form>\n';

const html = (signOut: boolean): string => `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>proxy-breaker</title>
<link rel="icon" href="data:,">
<style>${STYLE}</style>
</head>
<body>
<header class="top">
<h1>proxy-breaker</h1>
<p class="summary" id="summary">loading\u2026</p>
<p class="conn" id="conn" data-conn="connecting">connecting\u2026</p>
${signOut ? SIGN_OUT : ''}</header>
<div class="sr-only" id="announce" role="status" aria-live="polite" aria-atomic="true"></div>
<noscript><p>This dashboard needs JavaScript; the same data is at <a href="breakers">/breakers</a>.</p></noscript>
<main class="cards" id="cards" aria-label="Targets"></main>
<p id="empty" hidden>No targets configured.</p>
<template id="card">
<article class="card">
<div class="head">
<svg class="symbol" viewBox="0 0 48 24" aria-hidden="true"><path d="M0 16H10M38 16H48"/><circle cx="12" cy="16" r="2.5"/><circle cx="36" cy="16" r="2.5"/><path class="lever" d="M12 16L35 16"/></svg>
<h2 class="origin"></h2>
<span class="badge"></span>
</div>
<p class="routes"></p>
<p class="health"></p>
<dl class="stats">
<div><dt>Failures</dt><dd class="failures"></dd></div>
<div><dt>Requests</dt><dd class="rps"></dd></div>
<div><dt>Errors</dt><dd class="errors"></dd></div>
<div><dt>p50</dt><dd class="p50"></dd></div>
<div><dt>p99</dt><dd class="p99"></dd></div>
<div><dt>In flight</dt><dd class="inflight"></dd></div>
<div hidden><dt>Retried on status</dt><dd class="retried"></dd></div>
</dl>
<p class="probe"></p>
<svg class="spark" viewBox="0 0 300 36" preserveAspectRatio="none" role="img"><path class="area"/><path class="req"/><path class="err"/></svg>
<div class="legend"><span><span class="key-req">requests</span> and <span class="key-err">errors</span> per second</span><span>now</span></div>
<ol class="timeline" aria-label="Recent transitions"></ol>
</article>
</template>
<script>${SCRIPT}</script>
</body>
</html>
`;

const hash = (text: string): string => `'sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}'`;

/**
 * The page's Content-Security-Policy: its own inline style and script (by hash), fetches to
 * itself, and a form posting to itself only when it has the sign-out button.
 */
const csp = (signOut: boolean): string =>
  [
    "default-src 'none'",
    `script-src ${hash(SCRIPT)}`,
    `style-src ${hash(STYLE)}`,
    "connect-src 'self'",
    "img-src 'self' data:",
    "base-uri 'none'",
    `form-action ${signOut ? "'self'" : "'none'"}`,
    "frame-ancestors 'none'",
  ].join('; ');

export interface DashboardPage {
  html: string;
  csp: string;
}

/** The dashboard page served at `GET /`, as an open admin server serves it. */
export const DASHBOARD: DashboardPage = { html: html(false), csp: csp(false) };

/** The same page behind a token: with the sign-out button. */
export const SIGNED_IN_DASHBOARD: DashboardPage = { html: html(true), csp: csp(true) };
