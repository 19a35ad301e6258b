import { LATEST_WATERMARKS } from '../sinks/index.js'

export { LATEST_WATERMARKS }

/*
 * Whose watermark counts (migration 0010): a cube's windows are complete up to the watermark of
 * the group that writes it now, the group that last published for its pipeline. A retired group,
 * whose pipelines another group has taken over, no longer holds anything back; a group that is
 * down and not replaced still does. A group publishing no pipelines (a worker from before the
 * migration) counts as a writer of its own.
 */

/** Per pipeline, the group that writes it now (`writer`). */
export const CURRENT_WRITERS = `SELECT p AS pipeline, argMax(group_id, updated_at) AS writer
  FROM streamcube_watermarks ARRAY JOIN if(empty(pipelines), [concat('group:', group_id)], pipelines) AS p GROUP BY p`

/** Per pipeline: up to when its cubes' windows are complete (epoch ms), over its current writer's partitions. */
export const PIPELINE_WATERMARKS = `SELECT c.pipeline AS pipeline, toUnixTimestamp64Milli(min(l.w)) AS watermark, count() AS partitions
  FROM (${CURRENT_WRITERS}) AS c INNER JOIN (${LATEST_WATERMARKS}) AS l ON l.group_id = c.writer GROUP BY c.pipeline`

/** The minimum over every current writer's partitions of the latest watermark (epoch ms), and how many partitions published one. */
export const MIN_WATERMARK = `SELECT toUnixTimestamp64Milli(min(w)) AS watermark, count() AS partitions FROM (${LATEST_WATERMARKS})
  WHERE group_id IN (SELECT writer FROM (${CURRENT_WRITERS}))`
