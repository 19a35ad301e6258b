import { queryRows, type ClickHouse } from '../sinks/index.js'

/** The newest completed restock run of a date ('' : of any date): the API's restock report and the daily job read it. */
export const LATEST_RESTOCK_RUN = `
  SELECT toString(run_date) AS day, toString(computed_at) AS at, series, models, mean_mase, baseline_mean_mase, duration_ms, settings
  FROM restock_runs WHERE {date:String} = '' OR toString(run_date) = {date:String}
  ORDER BY run_date DESC, computed_at DESC LIMIT 1`

/** The newest completed run of a date (any date without one), or null. */
export async function lastRestockRun(ch: ClickHouse, runDate?: string): Promise<{ run_date: string; computed_at: string } | null> {
  const [found] = await queryRows<{ day: string; at: string }>(ch, LATEST_RESTOCK_RUN, { date: runDate ?? '' })
  return found ? { run_date: found.day, computed_at: found.at } : null
}
