import type { ClickHouse } from './connection.js'

/**
 * Up to when a consumer group's windows are complete: the minimum over its partitions of the
 * latest published watermark (see migration 0003 and KafkaWorker.watermarks), as epoch ms, or
 * null when the group has published nothing yet.
 */
export async function completeUpTo(ch: ClickHouse, groupId: string): Promise<number | null> {
  const rs = await ch.client.query({
    query: `SELECT toUnixTimestamp64Milli(min(w)) AS t, count() AS n FROM (
              SELECT argMax(watermark, updated_at) AS w FROM streamcube_watermarks WHERE group_id = {group:String} GROUP BY topic, partition)`,
    query_params: { group: groupId },
    format: 'JSONEachRow',
  })
  const [row] = await rs.json<{ t: string | number; n: string | number }>()
  return row && Number(row.n) > 0 ? Number(row.t) : null
}
