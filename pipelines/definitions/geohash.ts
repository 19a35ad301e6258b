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
