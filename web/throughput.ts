import { svg } from './dom.js'
import { rate } from './format.js'

/** A counter reading from runProgress: when, and how many rows SAP had sent by then. */
export interface Sample {
  at: number
  rows: number
}

/** Rates closer together than this are merged: counter events come ~10 a second, and rows/s over 100 ms is noise. */
const MIN_STEP_MS = 500
const WIDTH = 300
const HEIGHT = 80

/** rows/s between readings at least MIN_STEP_MS apart, at the time each interval ends. */
function ratesOf(samples: Sample[]): Array<{ at: number; perSecond: number }> {
  const rates: Array<{ at: number; perSecond: number }> = []
  let from = samples[0]
  for (const s of samples.slice(1)) {
    if (s.at - from.at < MIN_STEP_MS) continue
    rates.push({ at: s.at, perSecond: ((s.rows - from.rows) * 1000) / (s.at - from.at) })
    from = s
  }
  return rates
}

/** An inline SVG line of rows/s over the run's life, with its peak and average; no chart library. */
export function throughputChart(samples: Sample[]): { chart: SVGElement; summary: string } {
  const rates = ratesOf(samples)
  // Stretched to the card's width: the time axis is the run's life, whatever the card's size.
  const chart = svg('svg', { viewBox: `0 0 ${WIDTH} ${HEIGHT}`, preserveAspectRatio: 'none', class: 'throughput', role: 'img' })
  if (rates.length === 0) return { chart, summary: 'throughput: no readings yet' }
  const t0 = samples[0].at
  const span = Math.max(rates[rates.length - 1].at - t0, 1)
  const peak = Math.max(...rates.map((r) => r.perSecond), 1)
  const points = [{ at: t0, perSecond: 0 }, ...rates].map(
    (r) => `${(((r.at - t0) / span) * WIDTH).toFixed(1)},${(HEIGHT - 4 - (r.perSecond / peak) * (HEIGHT - 8)).toFixed(1)}`,
  )
  chart.append(
    svg('polyline', {
      points: points.join(' '),
      fill: 'none',
      stroke: 'currentColor',
      'stroke-width': 2,
      'vector-effect': 'non-scaling-stroke',
    }),
  )
  const last = samples[samples.length - 1]
  const average = ((last.rows - samples[0].rows) * 1000) / Math.max(last.at - t0, 1)
  chart.setAttribute('aria-label', `rows per second, peak ${rate(peak)}`)
  return { chart, summary: `peak ${rate(peak)} · average ${rate(average)}` }
}
