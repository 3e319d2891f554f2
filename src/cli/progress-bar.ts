import cliProgress from 'cli-progress'

export interface ProgressView {
  stage: string
  rowsExtracted: string | bigint
  rowsWritten: string | bigint
  filesWritten: number
  bytesWritten: string | bigint
}

/**
 * A terminal progress line for a run. The total is unknown up front (SAP does not say how many rows
 * a delta has), so the bar shows counts and the stage rather than a percentage.
 */
export function createRunBar(label: string) {
  const bar = new cliProgress.SingleBar(
    {
      format: `${label} {stage} | {rows} rows extracted | {written} written | {files} files, {mb} MB | {rate} rows/s`,
      hideCursor: true,
      noTTYOutput: true,
      notTTYSchedule: 1000,
      etaBuffer: 1,
    },
    cliProgress.Presets.shades_classic,
  )
  const started = Date.now()
  bar.start(1, 0, { stage: 'QUEUED', rows: 0, written: 0, files: 0, mb: '0.0', rate: 0 })
  return {
    update(p: ProgressView) {
      const rows = Number(p.rowsExtracted)
      const seconds = Math.max((Date.now() - started) / 1000, 0.001)
      bar.update(0, {
        stage: p.stage.padEnd(12),
        rows: rows.toLocaleString('en'),
        written: Number(p.rowsWritten).toLocaleString('en'),
        files: p.filesWritten,
        mb: (Number(p.bytesWritten) / 1e6).toFixed(1),
        rate: Math.round(rows / seconds).toLocaleString('en'),
      })
    },
    stop() {
      bar.stop()
    },
  }
}
