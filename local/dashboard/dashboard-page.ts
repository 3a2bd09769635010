/** The dashboard page: plain HTML and a little script polling /api/state every second. */
export const DASHBOARD_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>bigip-lbaas · local</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="/vendor/uplot.css">
<script src="/vendor/uplot.js"></script>
<style>
  :root { font-family: system-ui, sans-serif; color: #1d2733; background: #f4f6f8; }
  body { margin: 0; padding: 1.2rem 1.6rem; }
  h1 { font-size: 1.3rem; margin: 0 0 .2rem; }
  .sub { color: #5b6b7c; margin-bottom: 1rem; font-size: .9rem; }
  /* Laid out for 1280 and 1920 px (checked by screenshots in test/e2e/dashboard.test.ts): six
     tracks, so three sections share a row, or two halves, with no empty column left over. */
  .grid { display: grid; grid-template-columns: repeat(6, minmax(0, 1fr)); gap: 1rem; }
  .grid > section { grid-column: span 2; min-width: 0; }
  .grid > section.wide { grid-column: 1 / -1; }
  .cards { display: flex; flex-wrap: wrap; gap: .6rem; }
  .card { flex: 1 1 190px; max-width: 300px; border: 1px solid #e6e9ec; border-radius: 6px; padding: .5rem .6rem; font-size: .85rem; }
  .card h3 { margin: 0 0 .3rem; font-size: .95rem; display: flex; justify-content: space-between; align-items: center; gap: .4rem; }
  .card .kv { color: #5b6b7c; }
  /* Five charts: three then two wider ones; all five in one row from 1600 px. */
  .charts { display: grid; grid-template-columns: repeat(6, minmax(0, 1fr)); gap: .8rem; }
  .chart { grid-column: span 2; min-width: 0; }
  .chart:nth-child(n+4) { grid-column: span 3; }
  @media (min-width: 1600px) {
    .charts { grid-template-columns: repeat(5, minmax(0, 1fr)); }
    .chart, .chart:nth-child(n+4) { grid-column: span 1; }
    .grid > section.half { grid-column: span 3; }
  }
  @media (max-width: 1099px) {
    .grid > section, .grid > section.half { grid-column: 1 / -1; }
    .charts { grid-template-columns: minmax(0, 1fr); }
    .chart, .chart:nth-child(n+4) { grid-column: auto; }
  }
  .chart h3 { font-size: .85rem; margin: 0 0 .2rem; color: #3b4a5a; }
  ol.timeline { list-style: none; padding: 0; margin: 0; font-size: .85rem; max-height: 16rem; overflow: auto; }
  ol.timeline li { padding: .15rem 0; border-bottom: 1px solid #f0f2f4; }
  ol.timeline .agent-down, ol.timeline .failover { color: #b3261e; } ol.timeline .agent-up { color: #137333; }
  section { background: #fff; border-radius: 8px; padding: .8rem 1rem; box-shadow: 0 1px 2px #0002; }
  h2 { font-size: 1rem; margin: 0 0 .6rem; }
  table { border-collapse: collapse; width: 100%; font-size: .85rem; }
  th, td { text-align: left; padding: .25rem .4rem; border-bottom: 1px solid #e6e9ec; }
  .ok { color: #137333; font-weight: 600; } .bad { color: #b3261e; font-weight: 600; } .warn { color: #a15c00; font-weight: 600; }
  button { font-size: .8rem; padding: .2rem .6rem; border-radius: 4px; border: 1px solid #8a9bad; background: #fff; cursor: pointer; }
  button:hover { background: #eef2f6; }
  .bars div { display: flex; align-items: center; gap: .5rem; margin: .2rem 0; font-size: .85rem; }
  .bars span.bar { display: inline-block; height: .7rem; background: #3b6ea5; border-radius: 2px; }
  code { font-size: .8rem; }
  .wide { grid-column: 1 / -1; }
  ul.tree { list-style: none; margin: .2rem 0 .6rem; padding-left: 1rem; font-size: .85rem; }
  ul.tree > li { margin: .1rem 0; }
  .pill { display: inline-block; padding: 0 .4rem; border-radius: 8px; font-size: .75rem; font-weight: 600; margin-left: .3rem; }
  .h-ONLINE { background: #d7f0dd; color: #137333; } .h-DEGRADED { background: #fdebc8; color: #a15c00; }
  .h-ERROR { background: #f9d6d3; color: #b3261e; } .h-OFFLINE, .h-DRAINING { background: #e6e9ec; color: #5b6b7c; }
  .h-NO_MONITOR { background: #dde8f6; color: #2b5c95; }
  .lb { border-top: 1px solid #e6e9ec; padding-top: .4rem; }
  .stats { color: #5b6b7c; font-size: .8rem; }
  #recent td, #recent th { white-space: nowrap; }
  #recent td.reason { white-space: normal; color: #b3261e; width: 100%; }
  .addr { color: #3b4a5a; font-family: ui-monospace, monospace; font-size: .8rem; }
</style>
</head>
<body>
<h1>bigip-lbaas · environment <span id="env">…</span></h1>
<div id="error" class="bad" style="display:none;margin-bottom:.6rem"></div>
<div id="redundancy" class="warn" style="display:none;margin-bottom:.6rem"></div>
<div class="sub">agentDownTime <span id="downtime"></span> s · heartbeats every <span id="interval"></span> s · updated <span id="updated">never</span></div>
<div class="grid">
  <section class="wide">
    <h2>Agents</h2>
    <div class="cards" id="agents"></div>
  </section>
  <section class="wide">
    <h2>Last 15 minutes</h2>
    <div class="charts">
      <div class="chart" id="chart-decisions"><h3>Requests per second by decision</h3></div>
      <div class="chart" id="chart-latency"><h3>Submit → ACTIVE (ms, p50 / p95)</h3></div>
      <div class="chart" id="chart-queues"><h3>Queue depth (waiting / in flight)</h3></div>
      <div class="chart" id="chart-heartbeats"><h3>Heartbeat age per agent (s)</h3></div>
      <div class="chart" id="chart-moves"><h3>Failovers and reclaimed requests</h3></div>
    </div>
  </section>
  <section>
    <h2>Failover timeline</h2>
    <ol class="timeline" id="timeline"><li class="stats">nothing yet</li></ol>
  </section>
  <section>
    <h2>Scheduler decisions</h2>
    <div class="bars" id="decisions"></div>
    <h2 style="margin-top:.8rem">Queues</h2>
    <table id="queues"><thead><tr><th>queue</th><th>waiting</th><th>in flight</th></tr></thead><tbody></tbody></table>
  </section>
  <section>
    <h2>BIG-IP devices <button id="failover">Fail over the pair</button></h2>
    <table id="devices"><thead><tr><th>device</th><th>failover</th><th>sync</th><th>partitions</th><th>REST calls</th></tr></thead><tbody></tbody></table>
    <h2 style="margin-top:.8rem">Device groups</h2>
    <table id="groups"><thead><tr><th>group</th><th>state</th><th>score</th><th>agents alive</th><th>usage (used/limit)</th></tr></thead><tbody></tbody></table>
    <p><button id="demo">Create a demo load balancer</button> <span id="demo-result"></span></p>
    <p class="stats">Reconciler: <span id="reconcile">not run yet</span> <button id="reconcile-now">Reconcile now</button></p>
  </section>
  <section class="wide half" id="lb-section">
    <h2>Load balancers: status and health <span class="stats" id="health-poll"></span></h2>
    <input id="lb-filter" placeholder="filter by id, name, address, tenant, agent or status" style="width:24rem;max-width:100%;font-size:.85rem">
    <div id="loadbalancers"></div>
  </section>
  <section class="wide half" id="recent-section">
    <h2>Recent requests</h2>
    <table id="recent"><thead><tr><th>time</th><th>request</th><th>load balancer</th><th>decision</th><th>agent</th><th>status</th><th>reason</th></tr></thead><tbody></tbody></table>
  </section>
</div>
<script>
const esc = (s) => String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);
const cls = (v) => (v === 'ACTIVE' || v === 'alive' || v === 'In Sync' || v === 'active' ? 'ok' : v === 'ERROR' || v === 'dead' || v === 'UNREACHABLE' ? 'bad' : 'warn');
async function post(path) {
  const res = await fetch(path, { method: 'POST' });
  if (!res.ok) problem((await res.json().catch(() => ({}))).message || res.statusText);
  await refresh();
}
async function refresh() {
  const res = await fetch('/api/state');
  const s = await res.json();
  last = s;
  renderLoadBalancers(s);
  const rc = s.reconciliation;
  document.getElementById('reconcile').textContent = rc.progress
    ? 'running: ' + rc.progress.done + ' of ' + rc.progress.total
    : (rc.at ? new Date(rc.at).toLocaleTimeString() + ': ' : '') + rc.summary;
  document.getElementById('env').textContent = s.env;
  document.getElementById('downtime').textContent = s.agentDownTimeSeconds;
  document.getElementById('interval').textContent = s.heartbeatIntervalSeconds;
  document.getElementById('updated').textContent = new Date(s.now).toLocaleTimeString();
  // An enabled agent without a heartbeat within agentDownTime: what raises the AgentDown alarm in AWS.
  const down = s.agents.filter((a) => a.adminStateUp && !a.alive);
  const banner = document.getElementById('redundancy');
  banner.style.display = down.length > 0 ? '' : 'none';
  banner.textContent = down.length > 0
    ? 'Redundancy lost: ' + down.map((a) => a.host + (a.heartbeatAgeSeconds === null ? ' (never beat)' : ' (no heartbeat for ' + Math.round(a.heartbeatAgeSeconds) + ' s)')).join(', ') + ' — the AgentDown alarm in AWS'
    : '';
  document.getElementById('agents').innerHTML = s.agents.map((a) => {
    // Stopped but not yet past agentDownTime: still counted alive, and about to be declared dead.
    const dyingIn = !a.running && a.alive && a.heartbeatAgeSeconds !== null
      ? Math.max(0, Math.ceil(s.agentDownTimeSeconds - a.heartbeatAgeSeconds)) : null;
    const state = dyingIn !== null ? 'stopped, declared dead in ' + dyingIn + ' s'
      : (a.alive ? 'alive' : 'dead') + (a.running ? '' : ' (stopped)');
    const devices = Object.entries(a.devices).map(([n, d]) => esc(n) + ': ' + esc(d)).join(', ');
    const action = a.running
      ? '<button data-stop="' + esc(a.host) + '">Stop</button>'
      : '<button data-start="' + esc(a.host) + '">Start</button>';
    return '<div class="card" data-agent="' + esc(a.host) + '"><h3>' + esc(a.host) + ' ' + action + '</h3>' +
      '<div><span class="' + (dyingIn !== null ? 'warn' : cls(a.alive ? 'alive' : 'dead')) + '" data-field="state">' + esc(state) + '</span>' +
      ' · admin ' + (a.adminStateUp ? 'up' : 'down') + (s.groups.length > 1 && a.group ? ' · group <b data-field="group">' + esc(a.group) + '</b>' : '') + '</div>' +
      '<div class="kv">heartbeat <span data-field="age">' + (a.heartbeatAgeSeconds === null ? '–' : a.heartbeatAgeSeconds + ' s') + '</span> ago · ' +
      '<span data-field="lbs">' + a.loadbalancers + '</span> load balancers</div>' +
      '<div class="kv">' + (devices || 'no device reached yet') + '</div></div>';
  }).join('');
  const max = Math.max(1, ...Object.values(s.decisions));
  document.getElementById('decisions').innerHTML = Object.entries(s.decisions).map(([k, v]) =>
    '<div data-decision="' + esc(k) + '"><span style="width:8rem">' + esc(k) + '</span><span class="bar" style="width:' + (v / max) * 12 + 'rem"></span><b>' + v + '</b></div>').join('');
  document.querySelector('#queues tbody').innerHTML = Object.entries(s.queues).map(([q, d]) =>
    '<tr><td>' + esc(q) + '</td><td>' + d.visible + '</td><td>' + d.inFlight + '</td></tr>').join('');
  document.querySelector('#devices tbody').innerHTML = s.devices.map((d) =>
    '<tr><td>' + esc(d.name) + '</td><td class="' + cls(d.failoverState) + '">' + esc(d.failoverState) + '</td><td class="' + cls(d.syncStatus) + '">' +
    esc(d.syncStatus) + '</td><td>' + d.partitions + '</td><td>' + d.calls + '</td></tr>').join('');
  document.querySelector('#groups tbody').innerHTML = s.groups.map((g) =>
    '<tr data-group="' + esc(g.name) + '"><td>' + esc(g.name) + '</td><td class="' + (g.enabled ? 'ok' : 'warn') + '">' + (g.enabled ? 'enabled' : 'disabled') +
    '</td><td class="' + (g.score >= 1 ? 'bad' : g.score >= 0.8 ? 'warn' : 'ok') + '">' + g.score.toFixed(2) + (g.score >= 1 ? ' FULL' : '') +
    '</td><td>' + g.agentsAlive + '/' + g.hosts.length + '</td><td>' + esc(g.usage) + '</td></tr>').join('');
  document.querySelector('#recent tbody').innerHTML = s.recent.map((r) =>
    '<tr data-request="' + esc(r.requestId) + '"><td>' + new Date(r.at).toLocaleTimeString() + '</td><td>' + esc(r.operation + ' ' + r.resource) +
    '</td><td><code>' + esc(r.loadbalancerId.slice(0, 8)) + '</code></td><td>' + esc(r.decision) +
    '</td><td>' + esc(r.host || '–') + '</td><td class="' + (r.status === 'REFUSED' ? 'bad' : cls(r.status)) + '" data-field="status">' + esc(r.status) +
    '</td><td class="reason" data-field="reason">' + esc(r.reason || '') + '</td></tr>').join('');
}
// What a health pill means (docs/health-and-drift.md): only the status poller's readings are ONLINE, DEGRADED, ERROR.
const HEALTH_MEANING = {
  ONLINE: 'measured: on the device, nothing in it fails', DEGRADED: 'measured: part of it fails',
  ERROR: 'measured: failing', OFFLINE: 'disabled, or not measured yet', DRAINING: 'weight 0',
  NO_MONITOR: 'no monitor checks this member',
};
function node(n) {
  const label = esc(n.type) + ' <code>' + esc(n.id.slice(0, 8)) + '</code>' + (n.name ? ' ' + esc(n.name) : '') +
    (n.address ? ' <span class="addr" data-field="address">' + esc(n.address) + '</span>' : '');
  return '<li data-node="' + esc(n.type + '#' + n.id) + '">' + label + ' <span class="' + cls(n.provisioningStatus) + '">' + esc(n.provisioningStatus) +
    '</span><span class="pill h-' + esc(n.operatingStatus) + '" data-field="health" title="' + esc(HEALTH_MEANING[n.operatingStatus] || '') + '">' + esc(n.operatingStatus) + '</span>' +
    (n.statusReason ? ' <span class="stats">' + esc(n.statusReason) + '</span>' : '') +
    (n.children.length ? '<ul class="tree">' + n.children.map(node).join('') + '</ul>' : '') + '</li>';
}
function renderLoadBalancers(s) {
  const q = document.getElementById('lb-filter').value.trim().toLowerCase();
  const p = s.health.last;
  document.getElementById('health-poll').textContent = 'polled every ' + s.health.intervalSeconds + ' s' +
    (p ? (p.outcome === 'polled' ? ', last from ' + p.unit : ', last poll skipped: ' + p.reason) : ', not polled yet');
  // Every object of the tree counts: its id, name, address and statuses (ERROR finds the load
  // balancer with an ERROR member), and the load balancer's tenant and agents.
  const words = (n) => [n.id, n.name, n.address, n.provisioningStatus, n.operatingStatus].concat(...n.children.map(words));
  const shown = s.loadbalancers.filter((lb) => !q || [lb.tenantId, lb.agent, lb.servedBy].concat(words(lb.tree))
    .some((v) => v && String(v).toLowerCase().includes(q)));
  document.getElementById('loadbalancers').innerHTML = shown.length === 0 ? '<p class="stats">none</p>' : shown.map((lb) => {
    const st = lb.stats ? 'in ' + lb.stats.bytes_in + ' B · out ' + lb.stats.bytes_out + ' B · ' + lb.stats.active_connections + ' active · ' +
      lb.stats.total_connections + ' total connections' : 'no traffic read yet';
    const agent = 'agent ' + esc(lb.agent) + (lb.servedBy ? ' <b class="bad" data-field="served-by">· served by ' + esc(lb.servedBy) + ' (failover)</b>' : '');
    return '<div class="lb" data-lb="' + esc(lb.id) + '"><div class="stats">tenant ' + esc(lb.tenantId) + ' · ' + agent + ' · ' + st + '</div>' +
      '<ul class="tree">' + node(lb.tree) + '</ul></div>';
  }).join('');
}
let last;
document.getElementById('lb-filter').addEventListener('input', () => last && renderLoadBalancers(last));
document.addEventListener('click', async (e) => {
  const t = e.target;
  if (t.dataset.stop) await post('/api/agents/' + encodeURIComponent(t.dataset.stop) + '/stop');
  if (t.dataset.start) await post('/api/agents/' + encodeURIComponent(t.dataset.start) + '/start');
  if (t.id === 'failover') await post('/api/failover');
  if (t.id === 'reconcile-now') await post('/api/reconcile');
  if (t.id === 'demo') {
    const res = await fetch('/api/demo', { method: 'POST' });
    document.getElementById('demo-result').textContent = (await res.json()).loadbalancerId;
    await refresh();
  }
});
const charts = {};
const COLORS = ['#3b6ea5', '#137333', '#a15c00', '#b3261e', '#6b4fa0', '#2b8a8a', '#5b6b7c'];
// The legend names the series only: a live legend shows values under the cursor, and a row of
// dashes when there is none. Every chart counts something from 0; an idle one spans 0–1, not 0–100.
const width = (el) => Math.max(240, el.clientWidth - 8);
function chart(id, data, labels) {
  const el = document.getElementById(id);
  const opts = { width: width(el), height: 160, legend: { show: true, live: false },
    scales: { x: { time: true }, y: { range: (u, min, max) => uPlot.rangeNum(0, Math.max(1, max || 0), 0.1, true) } },
    series: [{}].concat(labels.map((l, i) => ({ label: l, stroke: COLORS[i % COLORS.length], width: 1.5, spanGaps: true }))) };
  if (!charts[id] || charts[id].series.length !== labels.length + 1) {
    if (charts[id]) charts[id].destroy();
    charts[id] = new uPlot(opts, data, el);
  } else charts[id].setData(data);
  el.dataset.points = String(data[0].length);
}
window.addEventListener('resize', () => {
  for (const [id, c] of Object.entries(charts)) c.setSize({ width: width(document.getElementById(id)), height: 160 });
});
window.consoleCharts = charts;
async function refreshHistory() {
  const h = await (await fetch('/api/history')).json();
  // The timeline first: it needs no charting library.
  document.getElementById('timeline').innerHTML = h.timeline.length === 0 ? '<li class="stats">nothing yet</li>' :
    h.timeline.map((e) => '<li class="' + esc(e.kind) + '" data-event="' + esc(e.kind) + '">' + new Date(e.t).toLocaleTimeString() + ' ' + esc(e.text) + '</li>').join('');
  const kinds = Object.keys(h.decisions);
  chart('chart-decisions', [h.t, ...kinds.map((k) => h.decisions[k])], kinds);
  chart('chart-latency', [h.t, h.latency.p50, h.latency.p95], ['p50', 'p95']);
  chart('chart-queues', [h.t, h.queues.waiting, h.queues.inFlight], ['waiting', 'in flight']);
  const hosts = Object.keys(h.heartbeatAge);
  chart('chart-heartbeats', [h.t, ...hosts.map((x) => h.heartbeatAge[x])], hosts);
  chart('chart-moves', [h.t, h.moves.failovers, h.moves.reclaimed], ['failovers', 'reclaimed']);

}
refresh();
refreshHistory().catch(() => undefined);
function problem(error) {
  const el = document.getElementById('error');
  el.style.display = error ? 'block' : 'none';
  el.textContent = error ? 'Lost contact with the local stack (' + error + '): is npm start still running? Start it again, then reload.' : '';
}
setInterval(() => refresh().then(() => problem(null), (e) => problem(e.message || String(e))), 1000);
setInterval(() => refreshHistory().catch(() => undefined), 2000);
</script>
</body>
</html>
`;
