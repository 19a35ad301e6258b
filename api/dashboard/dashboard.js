/* streamcube dashboard: polls the /v1 reports and draws them with ECharts (served locally). */
'use strict'

const params = new URLSearchParams(location.search)
if (params.get('key')) localStorage.setItem('streamcube.key', params.get('key'))
const KEY = localStorage.getItem('streamcube.key')
const POLL_MS = Number(document.body.dataset.pollMs) || 5000

const $ = (id) => document.getElementById(id)
const charts = {}
window.__streamcube = { charts, rendered: {}, errors: [] }

function chart(id) {
  charts[id] ??= echarts.init($(id), null, { renderer: 'canvas' })
  return charts[id]
}
window.addEventListener('resize', () => Object.values(charts).forEach((c) => c.resize()))

async function get(path, query = {}) {
  const url = new URL(path, location.origin)
  for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== '') url.searchParams.set(k, v)
  const res = await fetch(url, { headers: KEY ? { 'x-api-key': KEY } : {} })
  const body = await res.json().catch(() => ({}))
  if (!res.ok) throw new Error(`${path}: ${res.status} ${body.message ?? ''}`)
  return body
}

const money = (cents) => (cents / 100).toLocaleString(undefined, { style: 'currency', currency: 'CNY', maximumFractionDigits: 0 })
const int = (n) => Math.round(n).toLocaleString()
const minutes = (s) => (s === null || s === undefined ? '—' : Math.round(s / 60))
const pct = (x) => (x === null || x === undefined ? '—' : `${(x * 100).toFixed(1)}%`)

function range() {
  const minutesBack = Number($('range').value)
  const to = Math.ceil(Date.now() / 60_000) * 60_000
  return { from: new Date(to - minutesBack * 60_000).toISOString(), to: new Date(to).toISOString() }
}
const community = () => $('community').value

/** Static alert rules on a series' metric, as reference lines scaled from the rule's window to one bucket. */
let rules = []
function referenceLines(metric, bucketMinutes, scale = 1) {
  return rules
    .filter((r) => r.enabled && r.metric === metric && r.condition.type === 'static' && r.window.kind !== 'today')
    .map((r) => {
      const windowMinutes = r.window.kind === 'last' ? r.window.minutes : 60
      const y = (r.condition.threshold * bucketMinutes) / windowMinutes / scale
      return { name: r.name, yAxis: y, label: { position: 'insideEndTop', formatter: `${r.name}: ${r.condition.op} ${r.condition.threshold} per ${windowMinutes} min` } }
    })
}

async function alerts() {
  let body
  try {
    ;[body, rules] = await Promise.all([get('/v1/alerts'), get('/v1/alerts/rules').then((b) => b.rules)])
  } catch (err) {
    // Alerts are for admins and analysts; other keys see the reports without them.
    if (/: 403/.test(err.message)) {
      $('alerts-panel').style.display = 'none'
      return
    }
    throw err
  }
  const firing = body.alerts.filter((a) => a.status === 'firing')
  $('alerts-summary').textContent = `${firing.length} firing · ${body.alerts.length - firing.length} pending, no data or failing · ${rules.length} rules`
  $('alerts').querySelector('tbody').innerHTML = body.alerts.length
    ? body.alerts.map((a) => `<tr class="${a.status}"><td>${a.name ?? a.rule_id}</td><td>${a.group ?? '—'}</td><td>${a.status}</td><td>${a.severity ?? ''}</td><td>${a.value ?? '—'}</td><td>${a.threshold ?? '—'}</td><td>${a.fired_at ? new Date(a.fired_at).toLocaleTimeString() : a.pending_since ? new Date(a.pending_since).toLocaleTimeString() : ''}</td></tr>`).join('')
    : '<tr><td colspan="7">no active alerts</td></tr>'
  window.__streamcube.alerts = body.alerts.length
}

async function sales() {
  const r = range()
  const body = await get('/v1/sales/overview', { ...r, community: community() })
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
    yAxis: [{ type: 'value', name: 'GMV (¥)' }, { type: 'value', name: 'orders' }],
    series: [
      { name: 'GMV', type: 'line', showSymbol: false, areaStyle: { opacity: 0.15 }, data: pts.map((p) => [p.t, p.gmv_cents / 100]), markLine: { symbol: 'none', lineStyle: { color: '#c0392b', type: 'dashed' }, data: lines.gmv } },
      { name: 'orders', type: 'bar', yAxisIndex: 1, data: pts.map((p) => [p.t, p.orders]), markLine: { symbol: 'none', lineStyle: { color: '#c0392b', type: 'dashed' }, data: lines.orders } },
    ],
  }, true)
  window.__streamcube.rendered['chart-sales'] = pts.filter((p) => p.orders > 0).length
  return body
}

async function communities() {
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
    xAxis: { type: 'value', name: '¥' },
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
    yAxis: [{ type: 'value', name: '¥' }, { type: 'value', name: 'min' }],
    series: [
      { name: 'GMV', type: 'bar', data: rows.map((l) => l.gmv_cents / 100) },
      { name: 'deliver p90 (min)', type: 'scatter', yAxisIndex: 1, symbolSize: 10, data: rows.map((l) => (l.deliver_seconds.p90 === null ? null : Math.round(l.deliver_seconds.p90 / 60))) },
    ],
  }, true)
  window.__streamcube.rendered['chart-leaders'] = rows.length
}

async function heatmap() {
  const body = await get('/v1/heatmap', { ...range(), community: community(), bbox: '-180,-90,180,90', zoom: 13, metric: 'orders' })
  const cells = body.cells.filter((c) => c.orders > 0)
  const max = Math.max(1, ...cells.map((c) => c.orders))
  const lons = cells.map((c) => c.lon)
  const lats = cells.map((c) => c.lat)
  const pad = 0.01
  chart('chart-heatmap').setOption({
    tooltip: { formatter: (p) => `${p.data[3]}: ${p.data[2]} orders` },
    grid: { left: 60, right: 80, top: 10, bottom: 40 },
    xAxis: { type: 'value', name: 'lon', scale: true, min: lons.length ? Math.min(...lons) - pad : undefined, max: lons.length ? Math.max(...lons) + pad : undefined, axisLabel: { formatter: (v) => v.toFixed(2) } },
    yAxis: { type: 'value', name: 'lat', scale: true, min: lats.length ? Math.min(...lats) - pad : undefined, max: lats.length ? Math.max(...lats) + pad : undefined, axisLabel: { formatter: (v) => v.toFixed(2) } },
    visualMap: { min: 0, max, dimension: 2, right: 0, top: 'center', calculable: true, inRange: { color: ['#fff5d6', '#f6a93b', '#d7301f', '#7f0000'] } },
    series: [{ type: 'scatter', symbol: 'rect', symbolSize: 14, data: cells.map((c) => [c.lon, c.lat, c.orders, c.cell]) }],
  }, true)
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
  let body
  try {
    body = await get('/v1/quality', range())
  } catch (err) {
    if (/: 403/.test(err.message)) {
      $('quality-panel').style.display = 'none'
      return
    }
    throw err
  }
  $('quality-summary').textContent = body.silent_communities.length ? `${body.silent_communities.length} communities silent for an hour: ${body.silent_communities.slice(0, 5).map((c) => c.community_id).join(', ')}` : 'no silent communities'
  $('quality').querySelector('tbody').innerHTML = body.topics.map((t) => `<tr><td>${t.topic}</td><td>${t.pipeline_set.split(',').length} pipelines</td><td>${int(t.records)}</td>
    <td>${pct(t.dead_letter_rate)}</td><td>${t.dead_letters_by_code[0]?.code ?? '—'}</td><td>${pct(t.duplicate_rate)}</td><td>${pct(t.late_rate)}</td>
    <td>${(t.schemas ?? []).map((x) => `${x.schema} ${pct(x.share)}`).join(' · ') || '—'}</td></tr>`).join('')
  window.__streamcube.rendered.quality = body.topics.length
}

async function repurchase() {
  const body = await get('/v1/repurchase', { days: 30, weeks: 8, community: community() })
  $('repurchase-summary').textContent = `city: ${pct(body.city.rate)} of ${int(body.city.buyers)} buyers ordered twice in 30 days`
  const rows = [...body.communities].sort((a, b) => (b.rate ?? 0) - (a.rate ?? 0)).slice(0, 10).reverse()
  chart('chart-repurchase').setOption({
    tooltip: { trigger: 'axis', axisPointer: { type: 'shadow' }, valueFormatter: (v) => `${v}%` },
    grid: { left: 60, right: 20, top: 10, bottom: 30 },
    xAxis: { type: 'value', max: 100, axisLabel: { formatter: '{value}%' } },
    yAxis: { type: 'category', data: rows.map((c) => c.community_id) },
    series: [{ type: 'bar', data: rows.map((c) => Math.round((c.rate ?? 0) * 1000) / 10), itemStyle: { color: '#1e8e5a' }, markLine: { symbol: 'none', data: body.city.rate === null ? [] : [{ name: 'city', xAxis: Math.round(body.city.rate * 1000) / 10 }] } }],
  }, true)
  window.__streamcube.rendered['chart-repurchase'] = rows.length
}

async function expiry() {
  const body = await get('/v1/expiry', { community: community() })
  $('expiry-summary').textContent = `${body.summary.at_risk_batches} of ${body.summary.batches} batches at risk, ${int(body.summary.at_risk_units)} units`
  $('expiry').querySelector('tbody').innerHTML = body.batches.length
    ? body.batches.slice(0, 10).map((b) => `<tr class="${b.risk === 'high' || b.risk === 'expired' ? 'firing' : 'pending'}"><td>${b.batch_id}</td><td>${b.sku}</td><td>${b.community_id}</td><td>${int(b.on_hand)}</td><td>${int(b.at_risk)}</td><td>${b.days_to_expiry} d</td><td>${b.action}${b.transfer_to ? ` → ${b.transfer_to.community_id}` : ''}</td></tr>`).join('')
    : '<tr><td colspan="7">no batch at risk</td></tr>'
  window.__streamcube.rendered.expiry = body.summary.batches
}

async function restock() {
  let body
  try {
    body = await get('/v1/restock', { community: community(), suggested: 'true', limit: 10 })
  } catch (err) {
    if (/: 403/.test(err.message)) return void ($('restock-panel').style.display = 'none')
    throw err
  }
  const run = body.run
  const mase = (x) => (x === null || x === undefined ? '—' : x.toFixed(2))
  $('restock-summary').textContent = run
    ? `run ${run.run_date} · ${int(body.summary.suggested_orders)} orders, ${int(body.summary.suggested_units)} units · backtest MASE ${mase(run.mean_mase)} (seasonal-naive ${mase(run.baseline_mean_mase)})`
    : 'no forecast run yet (streamcube run restock)'
  $('restock').querySelector('tbody').innerHTML = body.rows.length
    ? body.rows.map((r) => `<tr><td>${r.warehouse_id}</td><td>${r.sku}</td><td>${r.category_id}</td><td>${r.forecast.map((v) => v.toFixed(1)).join(' · ')}</td><td>${r.model}${r.backtest_mase === null ? '' : ` (${mase(r.backtest_mase)})`}</td><td>${int(r.usable_on_hand)}</td><td>${int(r.unusable_on_hand)}</td><td>${int(r.min_stock)}</td><td><b>${int(r.suggested_qty)}</b></td></tr>`).join('')
    : `<tr><td colspan="9">${run ? 'no order needed' : '—'}</td></tr>`
  window.__streamcube.rendered.restock = body.rows.length
}

/** Hides a panel the key's role may not read (403); rethrows anything else. */
async function orHide(panel, load) {
  try {
    return await load()
  } catch (err) {
    if (/: 403/.test(err.message)) {
      $(panel).style.display = 'none'
      return null
    }
    throw err
  }
}

/** The selected community, or the first one known when "all" is selected (a profile is of one community). */
function profileCommunity() {
  return community() || [...$('community').options].map((o) => o.value).find(Boolean) || ''
}

async function profile() {
  const id = profileCommunity()
  if (!id) return
  const body = await orHide('profile-panel', () => get(`/v1/communities/${encodeURIComponent(id)}/profile`, range()))
  if (!body) return
  const b = body.basket
  $('profile-summary').textContent = `${id}${community() ? '' : ' (pick a community above)'} · basket ${b.avg_basket_cents === null ? '—' : money(b.avg_basket_cents)} vs ${b.city_avg_basket_cents === null ? '—' : money(b.city_avg_basket_cents)} · new users ${pct(body.users.new_share)} vs ${pct(body.users.city_new_share)} (${body.compared_with})`
  const cats = body.categories.slice(0, 8)
  chart('chart-profile').setOption({
    tooltip: { trigger: 'axis' },
    legend: { data: [id, 'city'] },
    grid: { left: 90, right: 20, top: 30, bottom: 25 },
    xAxis: { type: 'value', axisLabel: { formatter: (v) => `${Math.round(v * 100)}%` } },
    yAxis: { type: 'category', inverse: true, data: cats.map((c) => c.category_id) },
    series: [
      { name: id, type: 'bar', data: cats.map((c) => c.share ?? 0), itemStyle: { color: '#3461d9' } },
      { name: 'city', type: 'bar', data: cats.map((c) => c.city_share ?? 0), itemStyle: { color: '#b8c4e6' } },
    ],
  }, true)
  window.__streamcube.rendered['chart-profile'] = cats.length
}

async function targeting() {
  const category = $('target-category').value
  const [target, sites] = await Promise.all([
    orHide('targeting-panel', () => get('/v1/targeting', { ...range(), category, limit: 5 })),
    orHide('targeting-panel', () => get('/v1/sites/rank', { ...range(), category, daypart: 'evening', limit: 5 })),
  ])
  if (!target || !sites) return
  const n = Math.max(target.communities.length, sites.communities.length)
  $('targeting').querySelector('tbody').innerHTML = n
    ? Array.from({ length: n }, (_, i) => {
      const t = target.communities[i]
      const p = sites.communities[i]
      return `<tr><td>${i + 1}</td><td>${t?.community_id ?? ''}</td><td>${t ? (t.affinity === null ? '—' : t.affinity.toFixed(2)) : ''}</td><td>${t ? pct(t.penetration) : ''}</td><td>${p?.community_id ?? ''}</td><td>${p ? p.score.toFixed(2) : ''}</td><td>${p ? int(p.active_users) : ''}</td></tr>`
    }).join('')
    : '<tr><td colspan="7">no data in the range</td></tr>'
  window.__streamcube.rendered.targeting = target.communities.length
  window.__streamcube.rendered.sites = sites.communities.length
}

/** Where a campaign runs: its communities, or its box. */
const where = (c) => (c.communities.length ? c.communities.join(', ') : `bbox ${c.bbox.map((v) => v.toFixed(3)).join(', ')}`)

async function campaigns() {
  const list = await orHide('campaigns-panel', () => get('/v1/campaigns'))
  if (!list) return
  const ended = list.campaigns.filter((c) => Date.parse(c.to) <= Date.now()).sort((a, b) => Date.parse(b.to) - Date.parse(a.to)).slice(0, 5)
  const effects = await Promise.all(ended.map((c) => get(`/v1/campaigns/${encodeURIComponent(c.id)}/effect`).catch((err) => ({ error: err.message }))))
  const cell = (m) => (m.uplift === null ? '—' : `<span class="${m.significant ? 'firing' : ''}">${m.uplift >= 0 ? '+' : ''}${(m.uplift * 100).toFixed(0)}%${m.significant ? ' *' : ''}</span>`)
  $('campaigns-summary').textContent = `${list.campaigns.length} registered, ${ended.length} ended shown · * outside the 95 % interval of the baseline weeks`
  $('campaigns').querySelector('tbody').innerHTML = ended.length
    ? ended.map((c, i) => {
      const e = effects[i]
      const window = `${new Date(c.from).toLocaleString()} – ${new Date(c.to).toLocaleString()}`
      return e.error
        ? `<tr><td>${c.name}</td><td>${where(c)}</td><td>${window}</td><td colspan="4">${e.error}</td></tr>`
        : `<tr><td>${c.name}</td><td>${where(c)}</td><td>${window}</td><td>${cell(e.gmv_cents)}</td><td>${cell(e.orders)}</td><td>${cell(e.active_users)}</td><td>${cell(e.new_users)}</td></tr>`
    }).join('')
    : '<tr><td colspan="7">no campaign has ended (POST /v1/campaigns registers one)</td></tr>'
  window.__streamcube.rendered.campaigns = ended.length
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
  await alerts().catch((err) => (alertError = `alerts: ${err.message}`))
  // The community list first: the profile panel shows one community even when "all" is selected.
  const listed = await communities().then(() => null, (err) => err)
  const tasks = { sales, products, activity, leaders, heatmap, timeOfDay, freshness, quality, repurchase, expiry, restock, profile, targeting, campaigns }
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
refresh()
setInterval(refresh, POLL_MS)
