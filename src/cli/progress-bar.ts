import cliProgress from 'cli-progress'

export interface ProgressView {
  stage: string
  rowsExtracted: string | bigint
  rowsWritten: string | bigint
  filesWritten: number
  bytesWritten: string | bigint
}

/** The longest stage or status a line shows (TRANSFORMING), so the columns after it stay put. */
const STAGE_WIDTH = 'TRANSFORMING'.length

/** Bytes for people: KB below a megabyte (a small file is not "0.0 MB"), then MB, then GB. */
export function humanBytes(bytes: number): string {
  if (bytes < 1e6) return `${(bytes / 1e3).toFixed(1)} KB`
  if (bytes < 1e9) return `${(bytes / 1e6).toFixed(1)} MB`
  return `${(bytes / 1e9).toFixed(2)} GB`
}

/**
 * A terminal progress line for a run. The total is unknown up front (SAP does not say how many rows
 * a delta has), so the bar shows counts and the stage rather than a percentage.
 */
export function createRunBar(label: string) {
  const bar = new cliProgress.SingleBar(
    {
      format: `${label} {stage} | {rows} rows extracted | {written} written | {files} files, {size} | {rate} rows/s`,
      hideCursor: true,
      noTTYOutput: true,
      notTTYSchedule: 1000,
      etaBuffer: 1,
    },
    cliProgress.Presets.shades_classic,
  )
  const started = Date.now()
  bar.start(1, 0, { stage: 'QUEUED'.padEnd(STAGE_WIDTH), rows: 0, written: 0, files: 0, size: humanBytes(0), rate: 0 })
  return {
    update(p: ProgressView) {
      const rows = Number(p.rowsExtracted)
      const seconds = Math.max((Date.now() - started) / 1000, 0.001)
      bar.update(0, {
        stage: p.stage.padEnd(STAGE_WIDTH),
        rows: rows.toLocaleString('en'),
        written: Number(p.rowsWritten).toLocaleString('en'),
        files: p.filesWritten,
        size: humanBytes(Number(p.bytesWritten)),
        rate: Math.round(rows / seconds).toLocaleString('en'),
      })
    },
    stop() {
      bar.stop()
    },
  }
}
