import type { Random} from './random.js';
import { WeightedPicker } from './random.js'

/*
 * The simulated city: communities with coordinates, group leaders, residents (with personal data
 * for the PII paths), community warehouses, and a SKU catalog whose categories carry price ranges
 * and shelf lives. Everything derives from the seed.
 */

export interface BoundingBox {
  readonly minLat: number
  readonly maxLat: number
  readonly minLon: number
  readonly maxLon: number
}

/** Hangzhou's urban districts. */
export const HANGZHOU: BoundingBox = Object.freeze({ minLat: 30.16, maxLat: 30.36, minLon: 120.05, maxLon: 120.3 })

export interface Category {
  readonly id: string
  readonly minPriceCents: number
  readonly maxPriceCents: number
  /** Shelf life in days: fresh produce in days, dry goods in months. */
  readonly shelfLifeDays: readonly [number, number]
  /** Relative demand. */
  readonly weight: number
  readonly fresh: boolean
}

export const CATEGORIES: readonly Category[] = [
  { id: 'vegetables', minPriceCents: 150, maxPriceCents: 900, shelfLifeDays: [3, 7], weight: 10, fresh: true },
  { id: 'fruit', minPriceCents: 500, maxPriceCents: 3500, shelfLifeDays: [5, 14], weight: 8, fresh: true },
  { id: 'meat', minPriceCents: 1500, maxPriceCents: 6500, shelfLifeDays: [3, 5], weight: 6, fresh: true },
  { id: 'seafood', minPriceCents: 2000, maxPriceCents: 9800, shelfLifeDays: [2, 3], weight: 3, fresh: true },
  { id: 'dairy', minPriceCents: 500, maxPriceCents: 2500, shelfLifeDays: [7, 21], weight: 5, fresh: true },
  { id: 'bakery', minPriceCents: 300, maxPriceCents: 1800, shelfLifeDays: [2, 4], weight: 4, fresh: true },
  { id: 'eggs_tofu', minPriceCents: 300, maxPriceCents: 1600, shelfLifeDays: [5, 15], weight: 5, fresh: true },
  { id: 'grains_oils', minPriceCents: 1000, maxPriceCents: 8800, shelfLifeDays: [180, 365], weight: 3, fresh: false },
  { id: 'snacks', minPriceCents: 500, maxPriceCents: 3000, shelfLifeDays: [90, 270], weight: 4, fresh: false },
  { id: 'beverages', minPriceCents: 300, maxPriceCents: 2400, shelfLifeDays: [180, 365], weight: 4, fresh: false },
  { id: 'household', minPriceCents: 500, maxPriceCents: 5800, shelfLifeDays: [730, 730], weight: 2, fresh: false },
]

export interface Sku {
  readonly sku: string
  readonly category: Category
  readonly priceCents: number
  readonly shelfLifeDays: number
}

export interface Leader {
  readonly leaderId: string
  /** > 1 is slower than the median leader at accepting, sorting and delivering. */
  readonly slowness: number
}

export interface Resident {
  readonly userId: string
  readonly name: string
  readonly phone: string
  readonly address: string
  readonly lat: number
  readonly lon: number
  /** Relative activity: a few residents order often, most rarely. */
  readonly activity: number
}

/** A district of the city: one cell of a 4 × 4 grid over its box, named after a place. */
export interface District {
  readonly name: string
  readonly bbox: BoundingBox
}

export interface Community {
  readonly communityId: string
  readonly name: string
  /** The district the community lies in (its name starts with it). */
  readonly district: string
  readonly lat: number
  readonly lon: number
  readonly warehouseId: string
  readonly leaders: readonly Leader[]
  readonly residents: readonly Resident[]
  readonly residentPicker: WeightedPicker<Resident>
  /** Category preferences differ between communities (the "portrait"). */
  readonly categoryAffinity: ReadonlyMap<string, number>
  /** The SKUs this community's warehouse stocks. */
  readonly stocked: readonly Sku[]
  readonly skuPicker: WeightedPicker<Sku>
}

export interface World {
  readonly districts: readonly District[]
  readonly communities: readonly Community[]
  readonly communityPicker: WeightedPicker<Community>
  readonly catalog: readonly Sku[]
}

export interface WorldOptions {
  readonly communities: number
  readonly skus: number
  readonly bbox: BoundingBox
  /** Mean residents per community. */
  readonly residentsPerCommunity: number
}

const PLACE = ['Xixi', 'Qiantang', 'Binjiang', 'Gongshu', 'Shangcheng', 'Wulin', 'Jiangbei', 'Cuiyuan', 'Hemu', 'Tianmu', 'Baoshu', 'Yuquan', 'Lingyin', 'Meilin', 'Changqiao', 'Zhijiang']
const KIND = ['Garden', 'Residence', 'Court', 'Village', 'Heights', 'Mansion', 'Park', 'Estate']
const SURNAMES = ['Wang', 'Li', 'Zhang', 'Liu', 'Chen', 'Yang', 'Zhao', 'Huang', 'Zhou', 'Wu', 'Xu', 'Sun', 'Hu', 'Zhu', 'Gao', 'Lin']
const GIVEN = ['Wei', 'Fang', 'Na', 'Min', 'Jing', 'Li', 'Qiang', 'Lei', 'Jun', 'Yang', 'Yong', 'Yan', 'Jie', 'Tao', 'Ming', 'Xia', 'Hui', 'Ping']

const pad = (n: number, w: number) => String(n).padStart(w, '0')

/** The city's districts: a 4 × 4 grid over the box, west to east and south to north, one place name each. */
export function cityDistricts(bbox: BoundingBox): District[] {
  const n = 4
  const dLat = (bbox.maxLat - bbox.minLat) / n
  const dLon = (bbox.maxLon - bbox.minLon) / n
  return Array.from({ length: n * n }, (_, i) => {
    const row = Math.floor(i / n)
    const col = i % n
    return {
      name: PLACE[i] as string,
      bbox: { minLat: bbox.minLat + row * dLat, maxLat: bbox.minLat + (row + 1) * dLat, minLon: bbox.minLon + col * dLon, maxLon: bbox.minLon + (col + 1) * dLon },
    }
  })
}

/** The district a point lies in (the nearest cell at the box's edge). */
function districtOf(districts: readonly District[], box: BoundingBox, lat: number, lon: number): District {
  const n = Math.sqrt(districts.length)
  const row = Math.min(n - 1, Math.max(0, Math.floor(((lat - box.minLat) / (box.maxLat - box.minLat)) * n)))
  const col = Math.min(n - 1, Math.max(0, Math.floor(((lon - box.minLon) / (box.maxLon - box.minLon)) * n)))
  return districts[row * n + col] as District
}

/** Builds the city from the seed. */
export function buildWorld(random: Random, options: WorldOptions): World {
  const categoryPicker = new WeightedPicker(CATEGORIES, CATEGORIES.map((c) => c.weight))
  const catalog: Sku[] = []
  for (let i = 0; i < options.skus; i++) {
    const category = i < CATEGORIES.length ? (CATEGORIES[i] as Category) : categoryPicker.pick(random)
    const price = random.int(category.minPriceCents / 10, category.maxPriceCents / 10) * 10
    const [lo, hi] = category.shelfLifeDays
    catalog.push({ sku: `sku-${pad(i + 1, 4)}`, category, priceCents: price, shelfLifeDays: random.int(lo, hi) })
  }
  // Zipf-like popularity: a few SKUs sell a lot.
  const popularity = catalog.map((_, i) => 1 / Math.pow(i + 1, 0.8))

  const { bbox } = options
  const districts = cityDistricts(bbox)
  const inDistrict = new Map<string, number>()
  const communities: Community[] = []
  for (let c = 0; c < options.communities; c++) {
    const communityId = `c-${pad(c + 1, 3)}`
    const lat = random.uniform(bbox.minLat, bbox.maxLat)
    const lon = random.uniform(bbox.minLon, bbox.maxLon)
    // Named after its district, so a name reads as a place on the map ("Binjiang Court 2").
    const district = districtOf(districts, bbox, lat, lon).name
    const k = inDistrict.get(district) ?? 0
    inDistrict.set(district, k + 1)
    const name = `${district} ${KIND[k % KIND.length]}${k >= KIND.length ? ` ${Math.floor(k / KIND.length) + 1}` : ''}`
    const leaders: Leader[] = []
    const leaderCount = random.int(1, 3)
    for (let l = 0; l < leaderCount; l++) leaders.push({ leaderId: `l-${pad(c + 1, 3)}-${l + 1}`, slowness: random.logNormal(1, 0.35) })
    const residentCount = Math.max(10, Math.round(options.residentsPerCommunity * random.logNormal(1, 0.5)))
    const residents: Resident[] = []
    for (let r = 0; r < residentCount; r++) {
      residents.push({
        userId: `u-${pad(c + 1, 3)}-${pad(r + 1, 5)}`,
        name: `${random.pick(SURNAMES)} ${random.pick(GIVEN)}`,
        phone: `1${random.int(3, 9)}${pad(random.int(0, 999_999_999), 9)}`,
        address: `${name}, Building ${random.int(1, 30)}, Unit ${random.int(1, 4)}, Room ${random.int(1, 30)}0${random.int(1, 4)}`,
        lat: lat + random.normal() * 0.0025,
        lon: lon + random.normal() * 0.003,
        activity: random.logNormal(1, 0.9),
      })
    }
    const categoryAffinity = new Map(CATEGORIES.map((cat) => [cat.id, random.logNormal(1, 0.4)]))
    const stocked = catalog.filter((_, i) => i < CATEGORIES.length || random.chance(0.6))
    const skuPicker = new WeightedPicker(
      stocked,
      stocked.map((s) => (popularity[catalog.indexOf(s)] as number) * (categoryAffinity.get(s.category.id) ?? 1)),
    )
    communities.push({
      communityId,
      name,
      district,
      lat,
      lon,
      warehouseId: `wh-${pad(c + 1, 3)}`,
      leaders,
      residents,
      residentPicker: new WeightedPicker(residents, residents.map((r) => r.activity)),
      categoryAffinity,
      stocked,
      skuPicker,
    })
  }
  return { districts, communities, communityPicker: new WeightedPicker(communities, communities.map((c) => c.residents.length)), catalog }
}
