import { LATEST_WATERMARKS } from '../sinks/index.js'

export { LATEST_WATERMARKS }

/** The minimum over every group's partitions of the latest watermark (epoch ms), and how many partitions published one. */
export const MIN_WATERMARK = `SELECT toUnixTimestamp64Milli(min(w)) AS watermark, count() AS partitions FROM (${LATEST_WATERMARKS})`
