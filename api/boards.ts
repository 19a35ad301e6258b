import type { FastifyPluginAsync } from 'fastify'
import type { ZodTypeProvider } from 'fastify-type-provider-zod'
import { z } from 'zod'
import { roleMayCall, type AccessMap } from './access.js'
import type { Principal, Role } from './auth.js'

/*
 * Boards: which panels of the dashboard a key sees, chosen here by its role and scope so that the
 * page never asks for what the key cannot read. A panel names the routes it reads; it is on a
 * key's board only when the role may call every one of them (the routes' own access declarations
 * decide, so a board cannot drift from what the API enforces).
 */

export const Board = ['city', 'leader', 'supplier'] as const
export type Board = (typeof Board)[number]

interface PanelDef {
  readonly id: string
  readonly title: string
  /** The title on a board where the panel reads differently ("My orders" on a leader's). */
  readonly titles?: Partial<Record<Board, string>>
  readonly boards: readonly Board[]
  /** "METHOD /url" of every route the panel reads. */
  readonly reads: readonly string[]
}

/** The dashboard's panels, in page order (api/dashboard/index.html holds one section per id). */
export const PANELS: readonly PanelDef[] = [
  { id: 'alerts', title: 'Alerts', boards: ['city'], reads: ['GET /v1/alerts', 'GET /v1/alerts/rules'] },
  { id: 'sales', title: 'Community sales', titles: { leader: 'My orders' }, boards: ['city', 'leader'], reads: ['GET /v1/sales/overview'] },
  { id: 'deliveries', title: 'Deliveries and complaints', boards: ['leader'], reads: ['GET /v1/leaders/performance'] },
  { id: 'late', title: 'Late deliveries', boards: ['leader'], reads: ['GET /v1/leaders/performance', 'GET /v1/leaders/:leaderId/late-deliveries'] },
  { id: 'products', title: 'Product ranking', titles: { leader: 'Hot products in my communities', supplier: 'Sales of my SKUs' }, boards: ['city', 'leader', 'supplier'], reads: ['GET /v1/products/top', 'GET /v1/products/hot'] },
  { id: 'funnel', title: 'Activity funnel', boards: ['city'], reads: ['GET /v1/activity'] },
  { id: 'leaders', title: 'Group leaders', boards: ['city'], reads: ['GET /v1/leaders/performance'] },
  { id: 'repurchase', title: 'Repurchase', boards: ['city'], reads: ['GET /v1/repurchase'] },
  { id: 'stock', title: 'Stock by community', boards: ['supplier'], reads: ['GET /v1/expiry'] },
  { id: 'expiry', title: 'Expiry warnings', titles: { leader: 'Expiry in my communities', supplier: 'Expiry of my SKUs' }, boards: ['city', 'leader', 'supplier'], reads: ['GET /v1/expiry'] },
  { id: 'restock', title: 'Restock suggestions', boards: ['city', 'supplier'], reads: ['GET /v1/restock'] },
  { id: 'profile', title: 'Community profile', boards: ['city'], reads: ['GET /v1/communities/:id/profile'] },
  { id: 'targeting', title: 'Targeting and sites', boards: ['city'], reads: ['GET /v1/targeting', 'GET /v1/sites/rank'] },
  { id: 'campaigns', title: 'Campaigns', boards: ['city'], reads: ['GET /v1/campaigns', 'GET /v1/campaigns/:id/effect'] },
  { id: 'quality', title: 'Data quality', boards: ['city'], reads: ['GET /v1/quality'] },
  { id: 'heatmap', title: 'Order heatmap', boards: ['city'], reads: ['GET /v1/heatmap', 'GET /v1/geo/frame'] },
  { id: 'tod', title: 'Time of day', boards: ['city'], reads: ['GET /v1/time-of-day'] },
]

const BOARD_OF: Record<Role, Board> = { admin: 'city', analyst: 'city', leader: 'leader', supplier: 'supplier' }

export interface BoardView {
  readonly board: Board
  panels: { id: string; title: string }[]
}

/** The board of a key: its role's panels whose routes the role may all call. */
export function boardFor(p: Principal, access: AccessMap): BoardView {
  const board = BOARD_OF[p.role]
  return {
    board,
    panels: PANELS.filter((x) => x.boards.includes(board) && x.reads.every((r) => roleMayCall(access, p.role, r))).map((x) => ({ id: x.id, title: x.titles?.[board] ?? x.title })),
  }
}

const MeResponse = z.strictObject({
  name: z.string(),
  role: z.string(),
  scope: z.strictObject({
    communities: z.array(z.string()).nullable().describe('the communities the key reads; null: all'),
    skus: z.array(z.string()).nullable().describe('the SKUs the key reads; null: all'),
    leaders: z.array(z.string()).nullable().describe("a leader key's own leader ids; null: not named"),
  }),
  board: z.enum(Board),
  panels: z.array(z.strictObject({ id: z.string(), title: z.string() })).describe('the dashboard panels this key sees, in page order'),
})

/** GET /v1/me — who the key is, what it may read, and its board's panels. */
export function meRoutes(access: AccessMap): FastifyPluginAsync {
  return async (app) => {
    app.withTypeProvider<ZodTypeProvider>().get('/v1/me', {
      config: { access: { reads: 'its own key' } },
      schema: { tags: ['reports'], summary: "The caller's key: role, scope and the dashboard panels it sees", response: { 200: MeResponse } },
    }, async (req) => {
      const p = req.principal
      return { name: p.name, role: p.role, scope: { communities: p.communities ? [...p.communities] : null, skus: p.skus ? [...p.skus] : null, leaders: p.leaders ? [...p.leaders] : null }, ...boardFor(p, access) }
    })
  }
}
