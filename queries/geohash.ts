const BASE32 = '0123456789bcdefghjkmnpqrstuvwxyz'

/**
 * Geohash of a point (the same cells as ClickHouse's geohashEncode(lon, lat, precision) — note
 * ClickHouse takes longitude first; a test checks both agree on real points).
 */
export function geohash(lat: number, lon: number, precision: number): string {
  let latLo = -90
  let latHi = 90
  let lonLo = -180
  let lonHi = 180
  let hash = ''
  let bits = 0
  let ch = 0
  let even = true
  while (hash.length < precision) {
    if (even) {
      const mid = (lonLo + lonHi) / 2
      if (lon >= mid) {
        ch = (ch << 1) | 1
        lonLo = mid
      } else {
        ch <<= 1
        lonHi = mid
      }
    } else {
      const mid = (latLo + latHi) / 2
      if (lat >= mid) {
        ch = (ch << 1) | 1
        latLo = mid
      } else {
        ch <<= 1
        latHi = mid
      }
    }
    even = !even
    if (++bits === 5) {
      hash += BASE32[ch]
      bits = 0
      ch = 0
    }
  }
  return hash
}

/** The bounds of a geohash cell: [minLon, minLat, maxLon, maxLat]. Throws on a character outside the alphabet. */
export function geohashBounds(hash: string): [number, number, number, number] {
  let latLo = -90
  let latHi = 90
  let lonLo = -180
  let lonHi = 180
  let even = true
  for (const c of hash) {
    const v = BASE32.indexOf(c)
    if (v < 0) throw new RangeError(`not a geohash character: ${c}`)
    for (let bit = 4; bit >= 0; bit--) {
      const on = (v >> bit) & 1
      if (even) {
        const mid = (lonLo + lonHi) / 2
        if (on) lonLo = mid
        else lonHi = mid
      } else {
        const mid = (latLo + latHi) / 2
        if (on) latLo = mid
        else latHi = mid
      }
      even = !even
    }
  }
  return [lonLo, latLo, lonHi, latHi]
}
