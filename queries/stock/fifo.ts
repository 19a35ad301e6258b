/*
 * First-expiring-first-out: what of each batch of one warehouse and sku sells before it expires at
 * a daily rate. Shared by the expiry warnings (the rate is recent sales) and the restock job (the
 * rate is the forecast), so both read stock the same way.
 */

const DAY = 86_400_000

export interface FifoBatch {
  readonly on_hand: number
  /** YYYY-MM-DD, sellable through the end of that day (UTC); null never expires. */
  readonly expiry_date: string | null
}

export interface FifoResult {
  readonly days_to_expiry: number | null
  readonly stock_ahead: number
  readonly days_of_cover: number | null
  readonly sells_before_expiry: number
  readonly at_risk: number
}

/**
 * FIFO over one warehouse's batches of one sku, sorted by expiry (null last): what sells before
 * each batch expires at `perDay` units a day from `at`, and what does not. Pure.
 */
export function fifoRisk(batches: readonly FifoBatch[], perDay: number, at: number): FifoResult[] {
  let ahead = 0
  return batches.map((b) => {
    const cover = perDay > 0 ? Math.round(((ahead + b.on_hand) / perDay) * 10) / 10 : null
    if (b.expiry_date === null) {
      const out = { days_to_expiry: null, stock_ahead: ahead, days_of_cover: cover, sells_before_expiry: b.on_hand, at_risk: 0 }
      ahead += b.on_hand
      return out
    }
    const daysToExpiry = (Date.parse(`${b.expiry_date}T00:00:00Z`) + DAY - at) / DAY
    const capacity = Math.max(0, perDay * Math.max(0, daysToExpiry) - ahead)
    const sells = Math.min(b.on_hand, Math.floor(capacity))
    const out = { days_to_expiry: Math.round(daysToExpiry * 10) / 10, stock_ahead: ahead, days_of_cover: cover, sells_before_expiry: sells, at_risk: b.on_hand - sells }
    ahead += b.on_hand
    return out
  })
}
