import { z } from 'zod'

/*
 * The reports' response schemas: what OpenAPI shows, and what every computed report is checked
 * against before it is cached (context.ts: a report that drifts from its schema is a 500 naming the
 * fields, so a test of the report catches it). Objects are strict: a field a report adds must be
 * declared here.
 */

const Iso = z.string().describe('ISO 8601 date-time (UTC)')
const Count = z.number().int().min(0)
const Amount = z.number().describe('cents, or units for quantities')
const Ratio = z.number().nullable().describe('null when the denominator is 0')
const Range = z.strictObject({ from: Iso, to: Iso })
const RangeOfTable = z.strictObject({ from: Iso, to: Iso, table: z.string().describe('the cube table that answered; a range older than the minute cubes keep is read from several, named coarsest first: gmv_day+gmv_hour+gmv_minute') })

const SalesTotals = {
  gmv_cents: Amount,
  items: Count,
  orders: Count,
  paying_users: Count,
  refund_cents: Amount,
  refunded_orders: Count,
  cancelled_orders: Count,
  avg_order_value_cents: z.number().nullable(),
}

export const SalesOverviewResponse = z.strictObject({
  range: RangeOfTable,
  totals: z.strictObject(SalesTotals),
  previous: z.strictObject({ from: Iso, to: Iso, ...SalesTotals }),
  change: z.strictObject({ gmv_cents: Ratio, orders: Ratio, paying_users: Ratio, avg_order_value_cents: Ratio }),
  series: z.strictObject({
    granularity: z.enum(['minute', 'hour', 'day']),
    points: z.array(z.strictObject({ t: Iso, gmv_cents: Amount, orders: Count, paying_users: Count, refund_cents: Amount })),
  }),
  communities: z.array(z.strictObject({ community_id: z.string(), ...SalesTotals })).optional().describe('with by=community'),
})

const Products = {
  range: RangeOfTable,
  by: z.enum(['gmv', 'qty']),
  products: z.array(z.strictObject({ rank: Count, sku: z.string(), category_id: z.string(), qty: Count, gmv_cents: Amount, orders: Count })),
}
export const TopProductsResponse = z.strictObject(Products)
export const HotProductsResponse = z.strictObject({ window_minutes: z.number().int(), ...Products })

const Quantiles = z.strictObject({ p50: z.number().nullable(), p90: z.number().nullable() })

export const LeaderPerformanceResponse = z.strictObject({
  range: Range,
  late_after_minutes: z.number(),
  sort: z.string(),
  leaders: z.array(
    z.strictObject({
      rank: Count,
      community_id: z.string(),
      leader_id: z.string(),
      gmv_cents: Amount,
      orders: Count,
      paid_orders: Count,
      delivered: Count,
      late_deliveries: Count,
      late_rate: Ratio,
      accept_seconds: Quantiles,
      sort_seconds: Quantiles,
      deliver_seconds: Quantiles,
      complaints: Count,
      complaint_rate: Ratio,
      top_complaint_reasons: z.array(z.strictObject({ reason: z.string(), complaints: Count })),
    }),
  ),
})

export const LateDeliveriesResponse = z.strictObject({
  leader_id: z.string(),
  late_after_minutes: z.number(),
  pii: z.enum(['clear', 'masked']),
  orders: z.array(
    z.strictObject({
      order_id: z.string(),
      community_id: z.string(),
      paid_at: Iso,
      delivered_at: Iso,
      minutes: z.number().int(),
      customer: z.strictObject({ name: z.string(), phone: z.string(), address: z.string() }),
    }),
  ),
})

export const ActivityResponse = z.strictObject({
  range: Range,
  active_users: Count,
  events: Count,
  actions: z.array(z.strictObject({ action: z.string(), events: Count, users: Count })),
  funnel: z.strictObject({
    steps: z.array(z.strictObject({ step: z.string(), users: Count })),
    view_to_cart: Ratio,
    cart_to_order: Ratio,
    view_to_order: Ratio,
  }),
  series: z.strictObject({ granularity: z.enum(['minute', 'hour', 'day']), points: z.array(z.strictObject({ t: Iso, active_users: Count, events: Count })) }),
})

const HeatCell = { cell: z.string(), lat: z.number(), lon: z.number(), orders: Count, gmv_cents: Amount, users: Count }
const HeatMeta = { range: Range, precision: z.number().int(), metric: z.string(), truncated: z.boolean() }
export const HeatmapResponse = z.union([
  z.strictObject({ ...HeatMeta, cells: z.array(z.strictObject({ ...HeatCell, bounds: z.tuple([z.number(), z.number(), z.number(), z.number()]).describe('[west, south, east, north]') })) }),
  z.strictObject({
    type: z.literal('FeatureCollection'),
    ...HeatMeta,
    features: z.array(
      z.strictObject({
        type: z.literal('Feature'),
        geometry: z.strictObject({ type: z.literal('Polygon'), coordinates: z.array(z.array(z.tuple([z.number(), z.number()]))) }),
        properties: z.strictObject(HeatCell),
      }),
    ),
  }),
])

const HourPoint = z.strictObject({ hour: z.number().int().min(0).max(23), orders: Count, gmv_cents: Amount, orders_per_day: z.number().nullable(), gmv_cents_per_day: z.number().nullable() })
export const TimeOfDayResponse = z.strictObject({ range: Range, tz: z.string(), weekdays: Count, weekend_days: Count, weekday: z.array(HourPoint), weekend: z.array(HourPoint) })

const Share = z.number().nullable().describe('0-1; null without data')
export const QualityResponse = z.strictObject({
  range: Range,
  topics: z.array(
    z.strictObject({
      pipeline_set: z.string(),
      topic: z.string(),
      records: Count,
      events: Count,
      accepted: Count,
      dead_lettered: Count,
      dead_letter_rate: Share,
      dead_letters_by_code: z.array(z.strictObject({ code: z.string(), records: Count })),
      duplicates: Count,
      duplicate_rate: Share,
      late: Count,
      late_rate: Share,
      late_accepted: Count,
      schemas: z.array(z.strictObject({ schema: z.string(), records: Count, share: Share })),
    }),
  ),
  watermarks: z.array(z.strictObject({ group_id: z.string(), topic: z.string(), watermark: Iso, lag_seconds: z.number(), idle_partitions: z.boolean() })),
  silent_communities: z.array(z.strictObject({ community_id: z.string(), last_seen: Iso, silent_minutes: z.number().int() })),
})

const RepurchasePoint = { window_end: Iso, buyers: Count, repeaters: Count, rate: Ratio }
export const RepurchaseResponse = z.strictObject({
  days: z.number().int(),
  city: z.strictObject({ ...RepurchasePoint, trend: z.array(z.strictObject(RepurchasePoint)) }),
  communities: z.array(z.strictObject({ community_id: z.string(), ...RepurchasePoint, trend: z.array(z.strictObject(RepurchasePoint)) })),
})

export const ExpiryResponse = z.strictObject({
  at: Iso,
  turnover_days: z.number().int(),
  summary: z.strictObject({ batches: Count, at_risk_batches: Count, at_risk_units: Count }),
  batches: z.array(
    z.strictObject({
      warehouse_id: z.string(),
      community_id: z.string(),
      sku: z.string(),
      batch_id: z.string(),
      on_hand: z.number(),
      production_date: z.string(),
      expiry_date: z.string(),
      days_to_expiry: z.number(),
      daily_sales: z.number(),
      stock_ahead: z.number(),
      days_of_cover: z.number().nullable(),
      sells_before_expiry: z.number(),
      at_risk: z.number(),
      risk: z.enum(['ok', 'medium', 'high', 'expired']),
      action: z.enum(['none', 'promote', 'mark_down', 'transfer', 'remove']),
      transfer_to: z.strictObject({ community_id: z.string(), warehouse_id: z.string(), spare_demand: z.number() }).nullable(),
    }),
  ),
})

export const RestockResponse = z.strictObject({
  run: z
    .strictObject({
      run_date: z.string(),
      computed_at: Iso,
      series: Count,
      models: z.record(z.string(), z.number()).describe('series per chosen model'),
      mean_mase: z.number().nullable(),
      baseline_mean_mase: z.number().nullable(),
      duration_ms: z.number(),
      settings: z.unknown().describe('the settings the run used'),
    })
    .nullable()
    .describe('null before the first run'),
  summary: z.strictObject({ series: Count, suggested_orders: Count, suggested_units: Count }),
  rows: z.array(
    z.strictObject({
      warehouse_id: z.string(),
      community_id: z.string(),
      sku: z.string(),
      category_id: z.string(),
      model: z.string(),
      fallback: z.string(),
      history_days: Count,
      history_sold: Count,
      forecast: z.array(z.number()).describe('units per day, the next days'),
      forecast_total: z.number(),
      on_hand: z.number(),
      usable_on_hand: z.number(),
      unusable_on_hand: z.number(),
      safety_factor: z.number(),
      min_stock: Count,
      suggested_qty: Count,
      backtest_mae: z.number().nullable(),
      backtest_mape: z.number().nullable(),
      backtest_mase: z.number().nullable(),
      baseline_mase: z.number().nullable(),
    }),
  ),
})

export const ProfileResponse = z.strictObject({
  community_id: z.string(),
  range: Range,
  compared_with: z.string(),
  categories: z.array(z.strictObject({ category_id: z.string(), gmv_cents: Amount, share: Share, city_share: Share })),
  price_bands: z.array(z.strictObject({ band: z.string(), qty: Count, share: Share, city_share: Share })),
  dayparts: z.array(z.strictObject({ part: z.string(), hours: z.string(), orders: Count, share: Share, city_share: Share })),
  basket: z.strictObject({ orders: Count, avg_basket_cents: z.number().nullable(), city_avg_basket_cents: z.number().nullable() }),
  users: z.strictObject({ paying: Count, new: Count, returning: z.number().int(), new_share: Share, city_new_share: Share }),
})

export const TargetingResponse = z.strictObject({
  target: z.union([z.strictObject({ sku: z.string() }), z.strictObject({ category: z.string().optional() })]),
  range: Range,
  sells_in: Count,
  communities: z.array(z.strictObject({ rank: Count, community_id: z.string(), affinity: z.number().nullable(), penetration: z.number(), target_gmv_cents: Amount, community_gmv_cents: Amount })),
})

export const SitesResponse = z.strictObject({
  target: z.strictObject({ category: z.string().nullable(), price_band: z.string().nullable(), daypart: z.string() }),
  range: Range,
  communities: z.array(z.strictObject({ rank: Count, community_id: z.string(), active_users: Count, gmv_density_cents: z.number(), affinity: z.number(), score: z.number() })),
})

const Effect = z.strictObject({
  value: z.number(),
  baseline: z.array(z.number()),
  baseline_mean: z.number().nullable(),
  uplift: z.number().nullable(),
  low: z.number().nullable(),
  high: z.number().nullable(),
  significant: z.boolean(),
})
export const CampaignEffectResponse = z.strictObject({
  campaign: z.record(z.string(), z.unknown()).describe('the campaign as registered'),
  measured_on: z.string(),
  baseline_weeks: z.number().int(),
  gmv_cents: Effect,
  orders: Effect,
  active_users: Effect,
  new_users: Effect,
})
