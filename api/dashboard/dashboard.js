/* streamcube dashboard: polls the /v1 reports and draws them with ECharts (served locally). */

import { $, POLL_MS, chart, get, money, int, minutes, compact, pct, range, community, me, shown, myLeaders, board } from './page.js'
import { forgetAssessment, stock, repurchase, expiry, restock, profile, targeting, campaigns } from './analytics.js'

/**
 * Static alert rules on a series' metric, as reference lines scaled from the rule's window to one
 * bucket — those that watch what the chart shows: city-wide rules on all communities, per-community
 * rules (grouped by community, or filtered to it) on the selected community.
 */
let rules = []
function watchesChart(r) {
  const f = r.filters ?? {}
  if (f.leader?.length || f.category?.length || r.groupBy === 'leader') return false
  const c = community()
  if (!c) return !r.groupBy && !f.community?.length
  return r.groupBy === 'community' ? !f.community?.length || f.community.includes(c) : f.community?.length === 1 && f.community[0] === c
}
function referenceLines(metric, bucketMinutes, scale = 1) {
  return rules
    .filter((r) => r.enabled && r.metric === metric && r.condition.type === 'static' && r.window.kind !== 'today' && watchesChart(r))
    .map((r) => {
      const windowMinutes = r.window.kind === 'last' ? r.window.minutes : 60
      const y = (r.condition.threshold * bucketMinutes) / windowMinutes / scale
      return { name: r.name, yAxis: y, label: { position: 'insideEndTop', formatter: `${r.name}: ${r.condition.op} ${r.condition.threshold} per ${windowMinutes} min` } }
    })
}

async function alerts() {
  let body
  ;[body, rules] = await Promise.all([get('/v1/alerts'), get('/v1/alerts/rules').then((b) => b.rules)])
  const firing = body.alerts.filter((a) => a.status === 'firing')
  $('alerts-summary').textContent = `${firing.length} firing · ${body.alerts.length - firing.length} pending, no data or failing · ${rules.length} rules`
  $('alerts').querySelector('tbody').innerHTML = body.alerts.length
    ? body.alerts.map((a) => `<tr class="${a.status}"><td>${a.name ?? a.rule_id}</td><td>${a.group ?? '—'}</td><td>${a.status}</td><td>${a.severity ?? ''}</td><td>${a.value ?? '—'}</td><td>${a.threshold ?? '—'}</td><td>${a.fired_at ? new Date(a.fired_at).toLocaleTimeString() : a.pending_since ? new Date(a.pending_since).toLocaleTimeString() : ''}</td></tr>`).join('')
    : '<tr><td colspan="7">no active alerts</td></tr>'
  window.__streamcube.alerts = body.alerts.length
}

async function sales() {
  const r = range()
  const body = await get('/v1/sales/overview', { ...r, community: community(), leader: myLeaders() })
  $('sales-range').textContent = `${new Date(body.range.from).toLocaleString()} – ${new Date(body.range.to).toLocaleString()}, vs previous period`
  const t = body.totals
  const kpi = (label, value, change) => {
    const c = change === null || change === undefined ? '' : `<div class="c ${change >= 0 ? 'up' : 'down'}">${change >= 0 ? '▲' : '▼'} ${pct(Math.abs(change))}</div>`
    return `<div class="kpi"><div class="l">${label}</div><div class="v">${value}</div>${c}</div>`
  }
  $('kpis').innerHTML = [
    kpi('GMV', money(t.gmv_cents), body.change.gmv_cents),
    kpi('orders', int(t.orders), body.change.orders),
    kpi('paying users', int(t.paying_users), body.change.paying_users),
    kpi('avg order value', t.avg_order_value_cents === null ? '—' : money(t.avg_order_value_cents), body.change.avg_order_value_cents),
    kpi('refunds', money(t.refund_cents), null),
  ].join('')
  const pts = body.series.points
  const bucketMinutes = { minute: 1, hour: 60, day: 1440 }[body.series.granularity]
  const lines = { gmv: referenceLines('gmv_cents', bucketMinutes, 100), orders: referenceLines('orders', bucketMinutes) }
  window.__streamcube.referenceLines = lines.gmv.length + lines.orders.length
  chart('chart-sales').setOption({
    tooltip: { trigger: 'axis' },
    legend: { top: 0, data: ['GMV', 'orders'] },
    grid: { left: 60, right: 50, top: 50, bottom: 30 },
    xAxis: { type: 'time' },
    yAxis: [{ type: 'value', name: 'GMV (¥)', axisLabel: compact }, { type: 'value', name: 'orders', axisLabel: compact }],
    series: [
      { name: 'GMV', type: 'line', showSymbol: false, areaStyle: { opacity: 0.15 }, data: pts.map((p) => [p.t, p.gmv_cents / 100]), markLine: { symbol: 'none', lineStyle: { color: '#c0392b', type: 'dashed' }, data: lines.gmv } },
      { name: 'orders', type: 'bar', yAxisIndex: 1, data: pts.map((p) => [p.t, p.orders]), markLine: { symbol: 'none', lineStyle: { color: '#c0392b', type: 'dashed' }, data: lines.orders } },
    ],
  }, true)
  window.__streamcube.rendered['chart-sales'] = pts.filter((p) => p.orders > 0).length
  return body
}

async function communities() {
  if (me.scope.communities || !shown('sales')) return // a leader's are in her key; a supplier's come with his stock
  const body = await get('/v1/sales/overview', { ...range(), by: 'community', granularity: 'day' })
  const sel = $('community')
  const current = sel.value
  const known = new Set([...sel.options].map((o) => o.value))
  for (const c of body.communities ?? []) {
    if (!known.has(c.community_id)) sel.add(new Option(c.community_id, c.community_id))
  }
  sel.value = current
}

async function products() {
  const mode = $('products-mode').value
  const body = mode === 'top'
    ? await get('/v1/products/top', { ...range(), community: community(), limit: 10 })
    : await get('/v1/products/hot', { window: mode === 'hot15' ? 15 : 60, community: community(), limit: 10 })
  const rows = [...body.products].reverse()
  chart('chart-products').setOption({
    tooltip: { trigger: 'axis', axisPointer: { type: 'shadow' } },
    grid: { left: 110, right: 30, top: 10, bottom: 30 },
    xAxis: { type: 'value', name: '¥', axisLabel: compact },
    yAxis: { type: 'category', data: rows.map((p) => `${p.sku} (${p.category_id})`) },
    series: [{ name: 'GMV', type: 'bar', data: rows.map((p) => p.gmv_cents / 100), itemStyle: { color: '#2f6fdb' } }],
  }, true)
  window.__streamcube.rendered['chart-products'] = rows.length
}

async function activity() {
  const body = await get('/v1/activity', { ...range(), community: community() })
  $('active-users').textContent = `${int(body.active_users)} active users · view → order ${pct(body.funnel.view_to_order)}`
  chart('chart-funnel').setOption({
    tooltip: { trigger: 'item', formatter: '{b}: {c} users' },
    series: [{ type: 'funnel', left: '10%', width: '80%', sort: 'none', label: { formatter: '{b}: {c}' }, data: body.funnel.steps.map((s) => ({ name: s.step, value: s.users })) }],
  }, true)
  window.__streamcube.rendered['chart-funnel'] = body.funnel.steps.filter((s) => s.users > 0).length
}

async function leaders() {
  const body = await get('/v1/leaders/performance', { ...range(), community: community(), limit: 20 })
  const rows = body.leaders
  $('leaders').querySelector('tbody').innerHTML = rows.map((l) => `<tr><td>${l.rank}</td><td>${l.leader_id}</td><td>${l.community_id}</td><td>${money(l.gmv_cents)}</td><td>${int(l.orders)}</td>
    <td>${minutes(l.accept_seconds.p50)} / ${minutes(l.accept_seconds.p90)}</td><td>${minutes(l.sort_seconds.p50)} / ${minutes(l.sort_seconds.p90)}</td>
    <td>${minutes(l.deliver_seconds.p50)} / ${minutes(l.deliver_seconds.p90)}</td><td>${l.late_deliveries}</td><td>${pct(l.complaint_rate)}</td><td>${l.top_complaint_reasons[0]?.reason ?? '—'}</td></tr>`).join('')
  chart('chart-leaders').setOption({
    tooltip: { trigger: 'axis' },
    legend: { top: 0, data: ['GMV', 'deliver p90 (min)'] },
    grid: { left: 60, right: 60, top: 50, bottom: 50 },
    xAxis: { type: 'category', data: rows.map((l) => l.leader_id), axisLabel: { rotate: 30 } },
    yAxis: [{ type: 'value', name: '¥', axisLabel: compact }, { type: 'value', name: 'min', axisLabel: compact }],
    series: [
      { name: 'GMV', type: 'bar', data: rows.map((l) => l.gmv_cents / 100) },
      { name: 'deliver p90 (min)', type: 'scatter', yAxisIndex: 1, symbolSize: 10, data: rows.map((l) => (l.deliver_seconds.p90 === null ? null : Math.round(l.deliver_seconds.p90 / 60))) },
    ],
  }, true)
  window.__streamcube.rendered['chart-leaders'] = rows.length
}

/** A leader's own board: her deliveries and complaints as cards, then her late deliveries with customer contact. */
async function deliveries() {
  const body = await get('/v1/leaders/performance', { ...range(), community: community(), leader: myLeaders(), limit: 20 })
  const rows = body.leaders
  const dur = (q) => `${minutes(q.p50)} / ${minutes(q.p90)} min`
  $('deliveries-summary').textContent = `late means over ${body.late_after_minutes} min from payment to delivery · durations p50 / p90`
  $('deliveries').innerHTML = rows.length
    ? rows.map((l) => `<div class="card"><h3>${l.leader_id} · ${l.community_id}</h3><dl>
      <dt>orders paid</dt><dd>${int(l.paid_orders)}</dd><dt>GMV</dt><dd>${money(l.gmv_cents)}</dd>
      <dt>delivered</dt><dd>${int(l.delivered)}</dd><dt>late deliveries</dt><dd class="${l.late_deliveries ? 'down' : ''}">${int(l.late_deliveries)} (${pct(l.late_rate)})</dd>
      <dt>accept</dt><dd>${dur(l.accept_seconds)}</dd><dt>sort</dt><dd>${dur(l.sort_seconds)}</dd><dt>deliver</dt><dd>${dur(l.deliver_seconds)}</dd>
      <dt>complaints</dt><dd>${int(l.complaints)} (${pct(l.complaint_rate)})</dd>
      <dt>top reasons</dt><dd>${l.top_complaint_reasons.map((r) => `${r.reason} ${r.complaints}`).join(', ') || '—'}</dd></dl></div>`).join('')
    : '<div class="card">no orders in the range</div>'
  window.__streamcube.rendered.deliveries = rows.length
  if (shown('late')) await late(rows.map((l) => l.leader_id))
}

async function late(leaderIds) {
  const lists = await Promise.all(leaderIds.slice(0, 5).map((id) => get(`/v1/leaders/${encodeURIComponent(id)}/late-deliveries`, { ...range(), limit: 20 })))
  const orders = lists.flatMap((l) => l.orders).sort((a, b) => b.minutes - a.minutes)
  $('late-summary').textContent = `${orders.length} in the range${lists[0] ? ` · over ${lists[0].late_after_minutes} min · contact ${lists[0].pii === 'clear' ? 'in clear' : 'masked'}` : ''}`
  $('late').querySelector('tbody').innerHTML = orders.length
    ? orders.slice(0, 20).map((o) => `<tr class="pending"><td>${o.order_id}</td><td>${o.customer.name}</td><td>${o.customer.phone}</td><td>${o.community_id}</td><td>${new Date(o.paid_at).toLocaleTimeString()}</td><td>${new Date(o.delivered_at).toLocaleTimeString()}</td><td>${o.minutes}</td></tr>`).join('')
    : '<tr><td colspan="7">no late delivery in the range</td></tr>'
  window.__streamcube.rendered.late = orders.length
}

/** The map frame (district outlines, community points): fetched once per page. */
let frame = null
async function heatmap() {
  frame ??= await get('/v1/geo/frame')
  const body = await get('/v1/heatmap', { ...range(), community: community(), bbox: '-180,-90,180,90', zoom: 13, metric: 'orders' })
  const cells = body.cells.filter((c) => c.orders > 0)
  const max = Math.max(1, ...cells.map((c) => c.orders))
  const points = frame.communities.filter((c) => !community() || c.community_id === community())
  // The view: the districts when the city has them, else the cells and communities, with a margin.
  const lons = frame.districts.length ? frame.districts.flatMap((d) => d.outline.map((p) => p[0])) : [...cells.map((c) => c.lon), ...points.map((c) => c.lon)]
  const lats = frame.districts.length ? frame.districts.flatMap((d) => d.outline.map((p) => p[1])) : [...cells.map((c) => c.lat), ...points.map((c) => c.lat)]
  const pad = 0.005
  const names = new Map(points.map((c) => [c.community_id, c.name ?? c.community_id]))
  $('heatmap-summary').textContent = `${cells.length} cells (≈ 1.2 km) · ${frame.districts.length} districts · ${points.length} communities`
  chart('chart-heatmap').setOption({
    tooltip: { formatter: (p) => (p.seriesName === 'orders' ? `${p.data[3]}: ${p.data[2]} orders` : p.seriesName === 'communities' ? `${p.data[2]} (${p.data[3]})` : p.seriesName) },
    grid: { left: 50, right: 70, top: 10, bottom: 30 },
    xAxis: { type: 'value', name: 'lon', min: lons.length ? Math.min(...lons) - pad : undefined, max: lons.length ? Math.max(...lons) + pad : undefined, splitLine: { show: false }, axisLabel: { formatter: (v) => v.toFixed(2) } },
    yAxis: { type: 'value', name: 'lat', min: lats.length ? Math.min(...lats) - pad : undefined, max: lats.length ? Math.max(...lats) + pad : undefined, splitLine: { show: false }, axisLabel: { formatter: (v) => v.toFixed(2) } },
    visualMap: { min: 0, max, dimension: 2, seriesIndex: 0, right: 0, top: 'center', itemWidth: 12, calculable: true, inRange: { color: ['#fff5d6', '#f6a93b', '#d7301f', '#7f0000'] } },
    series: [
      { name: 'orders', type: 'scatter', symbol: 'rect', symbolSize: 12, z: 2, data: cells.map((c) => [c.lon, c.lat, c.orders, c.cell]) },
      ...frame.districts.map((d) => {
        const [cx, cy] = [d.outline.slice(0, -1).reduce((s, p) => s + p[0], 0) / (d.outline.length - 1), d.outline.slice(0, -1).reduce((s, p) => s + p[1], 0) / (d.outline.length - 1)]
        return { name: d.name, type: 'line', showSymbol: false, silent: true, z: 1, lineStyle: { color: '#9aa7b5', width: 1 }, data: d.outline,
          markPoint: { symbol: 'none', silent: true, label: { formatter: d.name, color: '#8392a3', fontSize: 10 }, data: [{ coord: [cx, cy] }] } }
      }),
      { name: 'communities', type: 'scatter', symbol: 'circle', symbolSize: 5, z: 3, itemStyle: { color: '#2f6fdb', borderColor: '#fff', borderWidth: 1 }, data: points.map((c) => [c.lon, c.lat, names.get(c.community_id), c.community_id]) },
    ],
  }, true)
  window.__streamcube.rendered.frame = frame.districts.length + points.length
  window.__streamcube.rendered['chart-heatmap'] = cells.length
}

async function timeOfDay() {
  const body = await get('/v1/time-of-day', { community: community() })
  const hours = Array.from({ length: 24 }, (_, h) => `${h}:00`)
  chart('chart-tod').setOption({
    tooltip: { trigger: 'axis' },
    legend: { top: 0, data: ['weekday', 'weekend'] },
    grid: { left: 50, right: 20, top: 50, bottom: 30 },
    xAxis: { type: 'category', data: hours },
    yAxis: { type: 'value', name: 'orders / day' },
    series: [
      { name: 'weekday', type: 'line', smooth: true, data: body.weekday.map((h) => h.orders_per_day ?? 0) },
      { name: 'weekend', type: 'line', smooth: true, data: body.weekend.map((h) => h.orders_per_day ?? 0) },
    ],
  }, true)
  window.__streamcube.rendered['chart-tod'] = [...body.weekday, ...body.weekend].filter((h) => h.orders > 0).length
}

async function quality() {
  const body = await get('/v1/quality', range())
  $('quality-summary').textContent = body.silent_communities.length ? `${body.silent_communities.length} communities silent for an hour: ${body.silent_communities.slice(0, 5).map((c) => c.community_id).join(', ')}` : 'no silent communities'
  $('quality').querySelector('tbody').innerHTML = body.topics.map((t) => `<tr><td>${t.topic}</td><td>${t.pipeline_set.split(',').length} pipelines</td><td>${int(t.records)}</td>
    <td>${pct(t.dead_letter_rate)}</td><td>${t.dead_letters_by_code[0]?.code ?? '—'}</td><td>${pct(t.duplicate_rate)}</td><td>${pct(t.late_rate)}</td>
    <td>${(t.schemas ?? []).map((x) => `${x.schema} ${pct(x.share)}`).join(' · ') || '—'}</td></tr>`).join('')
  window.__streamcube.rendered.quality = body.topics.length
}

async function freshness() {
  const body = await get('/v1/freshness')
  const el = $('freshness')
  const latest = body.watermark ?? body.latest_minute
  if (!latest) {
    el.textContent = 'no data yet'
    return
  }
  const behind = Math.max(0, (Date.parse(body.now) - Date.parse(latest)) / 1000)
  el.textContent = `data up to ${new Date(latest).toLocaleTimeString()} (${behind < 90 ? `${Math.round(behind)} s` : `${Math.round(behind / 60)} min`} behind) · updated ${new Date().toLocaleTimeString()}`
  el.classList.toggle('stale', behind > 300)
}

let running = false
async function refresh() {
  if (running) return
  running = true
  // Alerts first: the sales chart draws the rules' reference lines.
  let alertError = null
  if (shown('alerts')) await alerts().catch((err) => (alertError = `alerts: ${err.message}`))
  // The community list first: the profile panel shows one community even when "all" is selected.
  const listed = await communities().then(() => null, (err) => err)
  // Only the board's panels: the page never asks for a report the key may not read.
  const byPanel = { sales, deliveries, products, funnel: activity, leaders, heatmap, tod: timeOfDay, quality, repurchase, stock, expiry, restock, profile, targeting, campaigns }
  forgetAssessment()
  const tasks = { freshness, ...Object.fromEntries(Object.entries(byPanel).filter(([panel]) => shown(panel))) }
  const settled = await Promise.allSettled(Object.values(tasks).map((f) => f()))
  const failed = Object.keys(tasks).map((name, i) => [name, settled[i]]).filter(([, r]) => r.status === 'rejected')
  if (listed) failed.unshift(['communities', { reason: listed }])
  window.__streamcube.errors = [...(alertError ? [alertError] : []), ...failed.map(([name, r]) => `${name}: ${r.reason.message}`)]
  $('error').style.display = failed.length ? 'block' : 'none'
  $('error').textContent = window.__streamcube.errors.join(' · ')
  window.__streamcube.refreshes = (window.__streamcube.refreshes ?? 0) + 1
  running = false
}

for (const id of ['community', 'range', 'products-mode', 'target-category']) $(id).addEventListener('change', refresh)
board().then(
  () => {
    refresh()
    setInterval(refresh, POLL_MS)
  },
  (err) => {
    $('error').style.display = 'block'
    $('error').textContent = `this key cannot open a board: ${err.message}`
    window.__streamcube.errors = [err.message]
  },
)
