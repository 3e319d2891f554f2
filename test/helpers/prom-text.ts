/** The value of one sample of Prometheus' text format (0 when the series does not exist yet). */
export function sample(text: string, name: string, labels: Record<string, string> = {}): number {
  const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`)
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line)
    if (m?.[1] === name && wanted.every((l) => (m[2] ?? '').split(',').includes(l))) return Number(m[3])
  }
  return 0
}
