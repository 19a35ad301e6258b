/*
 * Exact maximum likelihood ARIMA for the restock forecast (issue 22), as statsmodels fits it:
 * the series is differenced (d, and D at the season), the differenced series is a zero-mean ARMA
 * whose exact Gaussian likelihood comes from a Kalman filter started at the stationary state
 * distribution (with the differencing states diffuse, statsmodels' likelihood is this one), the
 * variance is concentrated out, and the coefficients are searched inside the stationary and
 * invertible region through statsmodels' own map (x / sqrt(1 + x²) for a first-order polynomial):
 * a grid over the region first, then Nelder-Mead from its best points, so a likelihood whose
 * maximum sits near the invertibility boundary (θ ≈ -0.9 on weekly-patterned daily counts) is
 * still found. The forecast runs the filter's last state forward and undoes the differencing.
 */

/** A model with two coefficients, each a first-order polynomial's: an AR lag and an MA lag. */
export interface ArimaSpec {
  /** Non-seasonal differences. */
  readonly d: number
  /** Seasonal differences at `season`. */
  readonly D: number
  readonly season: number
  /** The lag of the AR coefficient: 1 for φ₁, or 0 for none (the closed-form start needs an AR part of order ≤ 1). */
  readonly arLag: number
  /** The lag of the MA coefficient (1 for θ₁, the season for Θ₁), or 0 for none. */
  readonly maLag: number
}

/** ARIMA(1,1,1), no constant: statsmodels' ARIMA(order=(1,1,1)). */
export const ARIMA_111: ArimaSpec = { d: 1, D: 0, season: 0, arLag: 1, maLag: 1 }
/** SARIMA(1,0,0)(0,1,1)₇: statsmodels' SARIMAX(order=(1,0,0), seasonal_order=(0,1,1,7)). */
export const SARIMA_100_011_7: ArimaSpec = { d: 0, D: 1, season: 7, arLag: 1, maLag: 7 }

export interface ArimaFit {
  readonly ar: number
  readonly ma: number
  readonly sigma2: number
  readonly logLikelihood: number
  readonly forecast: number[]
}

/** statsmodels' constraint of a first-order polynomial's coefficient to (-1, 1). */
const constrain = (x: number) => x / Math.sqrt(1 + x * x)
const unconstrain = (c: number) => {
  const v = Math.max(-0.99999, Math.min(0.99999, c))
  return v / Math.sqrt(1 - v * v)
}

/** y differenced d times, then D times at the season. */
export function difference(y: readonly number[], d: number, D: number, season: number): number[] {
  let w = [...y]
  for (let i = 0; i < d; i++) w = w.slice(1).map((v, t) => v - w[t]!)
  for (let i = 0; i < D; i++) w = w.slice(season).map((v, t) => v - w[t]!)
  return w
}

/** Forecasts of y from forecasts of its differences: undoes the seasonal, then the plain differences. */
function integrate(y: readonly number[], wf: readonly number[], d: number, D: number, season: number): number[] {
  // The series at each differencing stage, so each stage is undone with its own history.
  const stages: number[][] = [[...y]]
  for (let i = 0; i < d; i++) stages.push(difference(stages[i]!, 1, 0, 0))
  for (let i = 0; i < D; i++) stages.push(difference(stages[d + i]!, 0, 1, season))
  let f = [...wf]
  for (let stage = d + D - 1; stage >= 0; stage--) {
    const lag = stage >= d ? season : 1
    const history = [...stages[stage]!]
    f = f.map((v) => {
      const next = v + history[history.length - lag]!
      history.push(next)
      return next
    })
  }
  return f
}

/**
 * The stationary covariance of the Harvey state (dimension r) of an ARMA whose AR part is at most
 * first order, in closed form. With ψⱼ the MA(∞) weights (ψ₀ = 1, ψⱼ = φψⱼ₋₁ + θⱼ) and Rⱼ = θⱼ:
 * state 0 is wₜ, whose variance is Σψⱼ² (the tail past lag r−1 is geometric: ψᵣ₋₁²φ²/(1−φ²));
 * state i ≥ 1 is Σⱼ Rᵢ₊ⱼ eₜ₋ⱼ, so Cov(i, k) = Σⱼ Rᵢ₊ⱼRₖ₊ⱼ and Cov(0, k) = Σⱼ Rₖ₊ⱼψⱼ. O(r²), against
 * the O(r⁶) of solving the Lyapunov equation as a linear system.
 */
function stationaryCovariance(phi: number, R: Float64Array): Float64Array | null {
  const r = R.length
  if (!(Math.abs(phi) < 1)) return null
  const psi = new Float64Array(r)
  psi[0] = 1
  for (let j = 1; j < r; j++) psi[j] = phi * psi[j - 1]! + R[j]!
  const P = new Float64Array(r * r)
  let g0 = 0
  for (let j = 0; j < r; j++) g0 += psi[j]! * psi[j]!
  P[0] = g0 + (psi[r - 1]! * psi[r - 1]! * phi * phi) / (1 - phi * phi)
  for (let k = 1; k < r; k++) {
    let c = 0
    for (let j = 0; k + j < r; j++) c += R[k + j]! * psi[j]!
    P[k] = P[k * r] = c
    for (let i = k; i < r; i++) {
      let v = 0
      for (let j = 0; i + j < r; j++) v += R[i + j]! * R[k + j]!
      P[i * r + k] = P[k * r + i] = v
    }
  }
  return P
}

interface Filtered {
  /** Concentrated log-likelihood. */
  readonly ll: number
  readonly sigma2: number
  /** The predicted state after the last observation. */
  readonly state: number[]
}

/** Kalman filter of a zero-mean ARMA (AR order ≤ 1) in Harvey's form (Z = e₁), σ² = 1; exact from the stationary start. */
function filter(w: readonly number[], phi: readonly number[], theta: readonly number[]): Filtered | null {
  const r = Math.max(phi.length, theta.length + 1)
  const ph = Float64Array.from({ length: r }, (_, i) => phi[i] ?? 0)
  const R = Float64Array.from({ length: r }, (_, i) => (i === 0 ? 1 : (theta[i - 1] ?? 0)))
  // Row-major r×r matrices, reused at every step: the filter allocates nothing per observation.
  const P = stationaryCovariance(ph[0]!, R)
  if (!P) return null
  const TP = new Float64Array(r * r)
  const K = new Float64Array(r)
  const a = new Float64Array(r)
  let sumV2F = 0
  let sumLogF = 0
  let steady = false
  for (const obs of w) {
    const F = P[0]!
    if (!(F > 1e-12)) return null
    const v = obs - a[0]!
    sumV2F += (v * v) / F
    sumLogF += Math.log(F)
    if (!steady) {
      // T·P (φ in T's first column, ones above its diagonal), then K = T P Zᵀ / F.
      for (let i = 0; i < r; i++) for (let j = 0; j < r; j++) TP[i * r + j] = ph[i]! * P[j]! + (i + 1 < r ? P[(i + 1) * r + j]! : 0)
      for (let i = 0; i < r; i++) K[i] = TP[i * r]! / F
      // P ← T P Tᵀ + R Rᵀ − K Kᵀ F; once it stops changing the filter is in its steady state.
      let change = 0
      for (let i = 0; i < r; i++)
        for (let j = 0; j < r; j++) {
          const next = TP[i * r]! * ph[j]! + (j + 1 < r ? TP[i * r + j + 1]! : 0) + R[i]! * R[j]! - K[i]! * K[j]! * F
          change = Math.max(change, Math.abs(next - P[i * r + j]!))
          P[i * r + j] = next
        }
      steady = change < 1e-11 * F
    }
    const a0 = a[0]!
    for (let i = 0; i < r; i++) a[i] = ph[i]! * a0 + (i + 1 < r ? a[i + 1]! : 0) + K[i]! * v
  }
  const n = w.length
  const sigma2 = sumV2F / n
  if (!(sigma2 > 0)) return null
  return { ll: -0.5 * n * (Math.log(2 * Math.PI) + Math.log(sigma2) + 1) - 0.5 * sumLogF, sigma2, state: [...a] }
}

const polynomials = (spec: ArimaSpec, ar: number, ma: number) => ({
  phi: spec.arLag ? Array.from({ length: spec.arLag }, (_, i) => (i === spec.arLag - 1 ? ar : 0)) : [],
  theta: spec.maLag ? Array.from({ length: spec.maLag }, (_, i) => (i === spec.maLag - 1 ? ma : 0)) : [],
})

/** Nelder-Mead minimisation in two dimensions. */
function nelderMead(f: (x: readonly number[]) => number, start: readonly number[], step = 0.5, iterations = 200): { x: number[]; fx: number } {
  let simplex = [start, [start[0]! + step, start[1]!], [start[0]!, start[1]! + step]].map((x) => ({ x: [...x], fx: f(x) }))
  for (let it = 0; it < iterations; it++) {
    simplex.sort((p, q) => p.fx - q.fx)
    const [best, mid, worst] = simplex as [{ x: number[]; fx: number }, { x: number[]; fx: number }, { x: number[]; fx: number }]
    if (Math.abs(worst.fx - best.fx) < 1e-6) break
    const centroid = [(best.x[0]! + mid.x[0]!) / 2, (best.x[1]! + mid.x[1]!) / 2]
    const at = (t: number) => centroid.map((c, i) => c + t * (c - worst.x[i]!))
    const reflected = { x: at(1), fx: 0 }
    reflected.fx = f(reflected.x)
    if (reflected.fx < best.fx) {
      const expanded = { x: at(2), fx: 0 }
      expanded.fx = f(expanded.x)
      simplex = [best, mid, expanded.fx < reflected.fx ? expanded : reflected]
    } else if (reflected.fx < mid.fx) simplex = [best, mid, reflected]
    else {
      const contracted = { x: at(reflected.fx < worst.fx ? 0.5 : -0.5), fx: 0 }
      contracted.fx = f(contracted.x)
      if (contracted.fx < Math.min(worst.fx, reflected.fx)) simplex = [best, mid, contracted]
      else simplex = [best, ...[mid, worst].map((p) => ({ x: p.x.map((v, i) => best.x[i]! + 0.5 * (v - best.x[i]!)), fx: 0 }))].map((p) => (p.fx === 0 && p !== best ? { x: p.x, fx: f(p.x) } : p))
    }
  }
  simplex.sort((p, q) => p.fx - q.fx)
  return simplex[0]!
}

const GRID = [-0.95, -0.7, -0.35, 0, 0.35, 0.7, 0.95]

/** The grid over the region, then a local search from its best point and from the best point of another part of the region (a second basin: the likelihood can have two maxima). */
function globalSearch(negLl: (x: readonly number[]) => number): { x: number[]; fx: number } {
  const points = GRID.flatMap((ar) => GRID.map((ma) => ({ ar, ma, x: [unconstrain(ar), unconstrain(ma)] })))
    .map((p) => ({ ...p, fx: negLl(p.x) }))
    .sort((p, q) => p.fx - q.fx)
  const first = points[0]!
  const other = points.find((p) => Math.hypot(p.ar - first.ar, p.ma - first.ma) > 0.7)
  let best = { x: first.x, fx: first.fx }
  for (const p of other ? [first, other] : [first]) {
    const local = nelderMead(negLl, p.x)
    if (local.fx < best.fx) best = local
  }
  return best
}

/**
 * Fits the spec to y by exact maximum likelihood and forecasts h values. Null when the
 * differenced series is too short or has no variance.
 */
export function fitExactArima(y: readonly number[], h: number, spec: ArimaSpec): ArimaFit | null {
  const w = difference(y, spec.d, spec.D, spec.season)
  if (w.length < 4 || w.every((v) => v === w[0])) return null
  const negLl = (x: readonly number[]) => {
    const { phi, theta } = polynomials(spec, constrain(x[0]!), constrain(x[1]!))
    const fit = filter(w, phi, theta)
    return fit ? -fit.ll : Number.POSITIVE_INFINITY
  }
  const best = globalSearch(negLl)
  if (!Number.isFinite(best.fx)) return null
  const ar = constrain(best.x[0]!)
  const ma = constrain(best.x[1]!)
  const { phi, theta } = polynomials(spec, ar, ma)
  const fit = filter(w, phi, theta)!
  // The filter's state after the last observation is the one-step prediction; then T alone.
  const r = fit.state.length
  const ph = Array.from({ length: r }, (_, i) => phi[i] ?? 0)
  let a = fit.state
  const wf: number[] = []
  for (let k = 0; k < h; k++) {
    wf.push(a[0]!)
    const a0 = a[0]!
    a = a.map((_, i) => ph[i]! * a0 + (i + 1 < r ? a[i + 1]! : 0))
  }
  return { ar, ma, sigma2: fit.sigma2, logLikelihood: fit.ll, forecast: integrate(y, wf, spec.d, spec.D, spec.season) }
}
