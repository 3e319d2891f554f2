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
 * a delta has), so the bar shows counts and the stage rather than a percentage. The bar is drawn on
 * stderr, so it is a bar only when stderr is a terminal; otherwise (a pipe, a CI log) each stage
 * change is one plain line, which a log keeps readable, and stdout stays for the result.
 */
export function createRunBar(label: string, stream: NodeJS.WriteStream = process.stderr) {
  return stream.isTTY ? terminalBar(label) : plainLines(label, stream)
}

function plainLines(label: string, stream: NodeJS.WriteStream) {
  let shownStage = ''
  let printed = ''
  const write = (text: string) => {
    if (text !== printed) stream.write(text)
    printed = text
  }
  const line = (p: ProgressView) =>
    `${label} ${p.stage}: ${Number(p.rowsExtracted).toLocaleString('en')} rows extracted, ${Number(p.rowsWritten).toLocaleString('en')} written, ${p.filesWritten} file(s), ${humanBytes(Number(p.bytesWritten))}\n`
  let latest: ProgressView | undefined
  return {
    update(p: ProgressView) {
      latest = p
      if (p.stage === shownStage) return
      shownStage = p.stage
      write(line(p))
    },
    // The final figures, unless the last line already shows them.
    stop() {
      if (latest) write(line(latest))
    },
  }
}

function terminalBar(label: string) {
  const bar = new cliProgress.SingleBar(
    {
      format: `${label} {stage} | {rows} rows extracted | {written} written | {files} files, {size} | {rate} rows/s`,
      hideCursor: true,
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
