import type { ClickHouse } from './connection.js'

/**
 * Each partition's latest published watermark, per consumer group (group_id, topic, partition,
 * w, idle): the one query every reader of streamcube_watermarks starts from.
 */
export const LATEST_WATERMARKS = `SELECT group_id, topic, partition, argMax(watermark, updated_at) AS w, argMax(idle, updated_at) AS idle
  FROM streamcube_watermarks GROUP BY group_id, topic, partition`

/**
 * Up to when a consumer group's windows are complete: the minimum over its partitions of the
 * latest published watermark (see migration 0003 and KafkaWorker.watermarks), as epoch ms, or
 * null when the group has published nothing yet.
 */
export async function completeUpTo(ch: ClickHouse, groupId: string): Promise<number | null> {
  const rs = await ch.client.query({
    query: `SELECT toUnixTimestamp64Milli(min(w)) AS t, count() AS n FROM (${LATEST_WATERMARKS}) WHERE group_id = {group:String}`,
    query_params: { group: groupId },
    format: 'JSONEachRow',
  })
  const [row] = await rs.json<{ t: string | number; n: string | number }>()
  return row && Number(row.n) > 0 ? Number(row.t) : null
}
