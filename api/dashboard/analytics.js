/* The dashboard's stock and analytics panels: supplier stock, repurchase, expiry, restock, profiles, targeting, campaigns. */

import { $, chart, get, money, int, pct, range, community, shown } from './page.js'

/**
 * The expiry assessment, asked once per refresh: with every batch on hand when the stock panel is
 * on the board (the expiry panel then lists the ones at risk, as the default answer does).
 */
let assessment = null
/** A new refresh asks for a new assessment. */
export function forgetAssessment() {
  assessment = null
}
function expiryAssessment() {
  assessment ??= get('/v1/expiry', { community: community(), ...(shown('stock') ? { all: 'true' } : {}) })
  return assessment
}

/** A supplier's stock: his SKUs on hand per community (every batch, from the expiry assessment). */
export async function stock() {
  const body = await expiryAssessment()
  const by = new Map()
  for (const b of body.batches) {
    const k = `${b.sku}\u0000${b.community_id}`
    const row = by.get(k) ?? { sku: b.sku, community_id: b.community_id, on_hand: 0, batches: 0, next: Infinity, at_risk: 0 }
    row.on_hand += b.on_hand
    row.batches += 1
    row.at_risk += b.at_risk
    row.next = Math.min(row.next, b.days_to_expiry)
    by.set(k, row)
  }
  const rows = [...by.values()].sort((a, b) => a.sku.localeCompare(b.sku) || b.on_hand - a.on_hand)
  $('stock-summary').textContent = `${int(rows.reduce((n, r) => n + r.on_hand, 0))} units of ${new Set(rows.map((r) => r.sku)).size} SKUs in ${new Set(rows.map((r) => r.community_id)).size} communities`
  $('stock').querySelector('tbody').innerHTML = rows.length
    ? rows.slice(0, 50).map((r) => `<tr class="${r.at_risk > 0 ? 'pending' : ''}"><td>${r.sku}</td><td>${r.community_id}</td><td>${int(r.on_hand)}</td><td>${r.batches}</td><td>${r.next} d</td><td>${int(r.at_risk)}</td></tr>`).join('')
    : '<tr><td colspan="6">no stock on hand</td></tr>'
  const sel = $('community')
  const known = new Set([...sel.options].map((o) => o.value))
  for (const c of [...new Set(rows.map((r) => r.community_id))].sort()) if (!known.has(c)) sel.add(new Option(c, c))
  window.__streamcube.rendered.stock = rows.length
}


export async function repurchase() {
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

export async function expiry() {
  const body = await expiryAssessment()
  const atRisk = body.batches.filter((b) => b.risk !== 'ok')
  $('expiry-summary').textContent = `${body.summary.at_risk_batches} of ${body.summary.batches} batches at risk, ${int(body.summary.at_risk_units)} units`
  $('expiry').querySelector('tbody').innerHTML = atRisk.length
    ? atRisk.slice(0, 10).map((b) => `<tr class="${b.risk === 'high' || b.risk === 'expired' ? 'firing' : 'pending'}"><td>${b.batch_id}</td><td>${b.sku}</td><td>${b.community_id}</td><td>${int(b.on_hand)}</td><td>${int(b.at_risk)}</td><td>${b.days_to_expiry} d</td><td>${b.action}${b.transfer_to ? ` → ${b.transfer_to.community_id}` : ''}</td></tr>`).join('')
    : '<tr><td colspan="7">no batch at risk</td></tr>'
  window.__streamcube.rendered.expiry = body.summary.batches
}

export async function restock() {
  const body = await get('/v1/restock', { community: community(), suggested: 'true', limit: 10 })
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

/** The selected community, or the first one known when "all" is selected (a profile is of one community). */
function profileCommunity() {
  return community() || [...$('community').options].map((o) => o.value).find(Boolean) || ''
}

export async function profile() {
  const id = profileCommunity()
  if (!id) return
  const body = await get(`/v1/communities/${encodeURIComponent(id)}/profile`, range())
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

export async function targeting() {
  const category = $('target-category').value
  const [target, sites] = await Promise.all([
    get('/v1/targeting', { ...range(), category, limit: 5 }),
    get('/v1/sites/rank', { ...range(), category, daypart: 'evening', limit: 5 }),
  ])
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

export async function campaigns() {
  const list = await get('/v1/campaigns')
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
