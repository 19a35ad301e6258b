/* The dashboard's shared parts: the key, the /v1 client, charts, formats, the filters, and the key's board. */

const params = new URLSearchParams(location.search)
if (params.get('key')) localStorage.setItem('streamcube.key', params.get('key'))
const KEY = localStorage.getItem('streamcube.key')
export const POLL_MS = Number(document.body.dataset.pollMs) || 5000

export const $ = (id) => document.getElementById(id)
const charts = {}
window.__streamcube = { charts, rendered: {}, errors: [] }

export function chart(id) {
  charts[id] ??= echarts.init($(id), null, { renderer: 'canvas' })
  return charts[id]
}
window.addEventListener('resize', () => Object.values(charts).forEach((c) => c.resize()))

export async function get(path, query = {}) {
  const url = new URL(path, location.origin)
  for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== '') url.searchParams.set(k, v)
  const res = await fetch(url, { headers: KEY ? { 'x-api-key': KEY } : {} })
  const body = await res.json().catch(() => ({}))
  if (!res.ok) throw new Error(`${path}: ${res.status} ${body.message ?? ''}`)
  return body
}

export const money = (cents) => (cents / 100).toLocaleString(undefined, { style: 'currency', currency: 'CNY', maximumFractionDigits: 0 })
export const int = (n) => Math.round(n).toLocaleString()
export const minutes = (s) => (s === null || s === undefined ? '—' : Math.round(s / 60))
/** Axis labels that fit a phone: 12k, 1.5M; labels that would still overlap are hidden. */
export const compact = { hideOverlap: true, formatter: (v) => (Math.abs(v) >= 1e6 ? `${+(v / 1e6).toFixed(1)}M` : Math.abs(v) >= 1e3 ? `${+(v / 1e3).toFixed(1)}k` : `${v}`) }
export const pct = (x) => (x === null || x === undefined ? '—' : `${(x * 100).toFixed(1)}%`)

export function range() {
  const minutesBack = Number($('range').value)
  const to = Math.ceil(Date.now() / 60_000) * 60_000
  return { from: new Date(to - minutesBack * 60_000).toISOString(), to: new Date(to).toISOString() }
}
export const community = () => $('community').value

/** The key's role, scope and board (GET /v1/me): which panels to show, and so which reports to ask for. */
export let me = null
export const shown = (panel) => me.panels.some((p) => p.id === panel)
/** A leader key's own leader ids, as the leader filter of her board's reports. */
export const myLeaders = () => (me.board === 'leader' && me.scope.leaders ? me.scope.leaders.join(',') : undefined)

export async function board() {
  me = await get('/v1/me')
  for (const el of document.querySelectorAll('section[data-panel]')) {
    const panel = me.panels.find((p) => p.id === el.dataset.panel)
    el.hidden = !panel
    const title = el.querySelector('h2 .title')
    if (panel && title) title.textContent = panel.title
  }
  const n = (k, one, many) => `${k} ${k === 1 ? one : many}`
  const scope = me.scope.communities ? n(me.scope.communities.length, 'community', 'communities') : me.scope.skus ? n(me.scope.skus.length, 'SKU', 'SKUs') : 'all data'
  $('who').textContent = `${me.name} · ${me.role} · ${scope}`
  if (me.board === 'leader') $('products-mode').value = 'hot60'
  if (me.scope.communities) for (const c of me.scope.communities) $('community').add(new Option(c, c))
  window.__streamcube.board = me.board
  window.__streamcube.panels = me.panels.map((p) => p.id)
}
