const BASE32 = '0123456789bcdefghjkmnpqrstuvwxyz'

/** A cell's intervals, longitude first: a geohash's bits alternate lon, lat, lon, … from the first. */
type Cell = [lon: [lo: number, hi: number], lat: [lo: number, hi: number]]

const world = (): Cell => [[-180, 180], [-90, 90]]

/** The interval of the axis that bit `i` of a geohash halves. */
const axisOf = (cell: Cell, i: number): [number, number] => cell[i & 1] as [number, number]

/** Keeps the upper or the lower half of an interval. */
function halve(r: [number, number], upper: boolean): void {
  const mid = (r[0] + r[1]) / 2
  if (upper) r[0] = mid
  else r[1] = mid
}

/**
 * Geohash of a point (the same cells as ClickHouse's geohashEncode(lon, lat, precision) — note
 * ClickHouse takes longitude first; a test checks both agree on real points).
 */
export function geohash(lat: number, lon: number, precision: number): string {
  const cell = world()
  const point = [lon, lat] as const
  let hash = ''
  for (let c = 0; c < precision; c++) {
    let v = 0
    for (let b = 0; b < 5; b++) {
      const i = c * 5 + b
      const r = axisOf(cell, i)
      const upper = (point[i & 1] as number) >= (r[0] + r[1]) / 2
      halve(r, upper)
      v = (v << 1) | (upper ? 1 : 0)
    }
    hash += BASE32[v]
  }
  return hash
}

/** The bounds of a geohash cell: [minLon, minLat, maxLon, maxLat]. Throws on a character outside the alphabet. */
export function geohashBounds(hash: string): [number, number, number, number] {
  const cell = world()
  for (let c = 0; c < hash.length; c++) {
    const v = BASE32.indexOf(hash[c] as string)
    if (v < 0) throw new RangeError(`not a geohash character: ${hash[c]}`)
    for (let b = 0; b < 5; b++) halve(axisOf(cell, c * 5 + b), ((v >> (4 - b)) & 1) === 1)
  }
  const [lon, lat] = cell
  return [lon[0], lat[0], lon[1], lat[1]]
}
