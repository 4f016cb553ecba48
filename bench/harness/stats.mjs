// Medians, spreads and percentiles of the harness's figures.

export function median (values) {
  const s = [...values].sort((a, b) => a - b)
  if (s.length === 0) return NaN
  const mid = Math.floor(s.length / 2)
  return s.length % 2 === 1 ? s[mid] : (s[mid - 1] + s[mid]) / 2
}

/** `{ median, min, max }` of one figure over the measured runs. */
export function spread (values) {
  return { median: median(values), min: Math.min(...values), max: Math.max(...values) }
}

/** The p-th percentile (0..100) of a sorted Float64Array or array. */
export function percentile (sorted, p) {
  if (sorted.length === 0) return NaN
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))
  return sorted[i]
}

export const round = (n, digits = 0) => Number.isFinite(n) ? Number(n.toFixed(digits)) : n
