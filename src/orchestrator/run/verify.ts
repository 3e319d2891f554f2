import { coverageProblem } from '../../sap/key-ranges.js'
import { readFooter, type WrittenFile } from '../../transform/index.js'
import { RunRefused } from '../run-errors.js'
import type { Extracted, StoredFile } from './stream.js'

/**
 * The product's promise, checked before anything is committed (docs/architecture.md#rule-7): every row the
 * source sent is in the files the run lists, exactly once. The counts are kept independently — by
 * the read loop, by the Parquet writer, by each file's own footer (read back from disk), and by the
 * writer's ledger of every file it opened — and must all agree; so must the change modes. Any
 * mismatch fails the run with DATA_INTEGRITY, names the figures, and commits nothing: the delta
 * position stays where it was and the next run reads the same data again.
 */
export function verifyConservation(x: Extracted): void {
  const problems = [...rowProblems(x), ...ledgerProblems(x), ...changeProblems(x), ...partitionProblems(x)]
  if (problems.length)
    throw new RunRefused(
      'DATA_INTEGRITY',
      `the files do not hold exactly the rows the source sent: ${problems.join('; ')}. Nothing was committed; the next run reads the same data again`,
    )
}

const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0)

function rowProblems(x: Extracted): string[] {
  const problems: string[] = []
  const listed = sum(x.files.map((f) => f.rows))
  const inFooters = sum(x.files.map((f) => f.footerRows))
  if (x.rowsAccepted !== x.rowsFromSource)
    problems.push(`the source sent ${x.rowsFromSource} rows, the Parquet writer accepted ${x.rowsAccepted}`)
  if (x.rowsEncoded !== x.rowsAccepted) problems.push(`the writer accepted ${x.rowsAccepted} rows and encoded ${x.rowsEncoded}`)
  if (listed !== x.rowsFromSource)
    problems.push(`the ${x.files.length} file(s) listed hold ${listed} rows, the source sent ${x.rowsFromSource}`)
  if (inFooters !== listed) problems.push(`the files' footers hold ${inFooters} rows, the list says ${listed}`)
  return problems
}

function ledgerProblems(x: Extracted): string[] {
  const opened = x.ledger.map((e) => `${e.fileName} (${e.rows})`)
  const listed = x.files.map((f) => `${f.fileName} (${f.rows})`)
  const problems: string[] = []
  if (opened.join() !== listed.join())
    problems.push(
      `the writer opened ${opened.length} file(s) [${opened.join(', ')}], the run lists ${listed.length} [${listed.join(', ')}]`,
    )
  const unhanded = x.ledger.filter((e) => !e.handedOut)
  if (unhanded.length) problems.push(`the writer never finished ${unhanded.map((e) => e.fileName).join(', ')}`)
  return problems
}

/**
 * A partitioned run: each partition must conserve its own rows, and the partitions read must be the
 * plan's, each exactly once, with ranges that cover the key space exactly once — a missing or doubled
 * partition would pass the sums above when another one made up for it.
 */
function partitionProblems(x: Extracted): string[] {
  if (!x.partitions) return []
  const problems: string[] = []
  const ids = x.partitions.map((p) => p.partition.id)
  const doubled = ids.filter((id, i) => ids.indexOf(id) !== i)
  if (doubled.length) problems.push(`partition(s) ${doubled.join(', ')} listed twice`)
  const planned = x.partitions.map((p) => p.partition.range)
  const gap = coverageProblem(planned)
  if (gap) problems.push(`the partitions do not cover the key space exactly once: ${gap}`)
  const columns = (cols: Extracted['columns']) => cols.map((c) => c.name).join()
  for (const { partition, extracted } of x.partitions) {
    const own = [...rowProblems(extracted), ...ledgerProblems(extracted), ...changeProblems(extracted)]
    if (columns(extracted.columns) !== columns(x.columns)) own.push('its columns differ from the other partitions')
    const labelled = x.files.filter((f) => f.partition === partition.id).length
    if (labelled !== extracted.files.length) own.push(`the run lists ${labelled} of its files, it wrote ${extracted.files.length}`)
    problems.push(...own.map((p) => `partition ${partition.id}: ${p}`))
  }
  return problems
}

function changeProblems(x: Extracted): string[] {
  if (!x.changes) return []
  const fromSource: Record<string, number> = { ...x.changes.counts, 'before-image': x.changes.beforeImages }
  const inFiles: Record<string, number> = { created: 0, updated: 0, deleted: 0, 'before-image': 0 }
  for (const f of x.files) for (const [k, n] of Object.entries(f.counts ?? {})) inFiles[k] = (inFiles[k] ?? 0) + n
  const differ = Object.keys(inFiles).filter((k) => inFiles[k] !== (fromSource[k] ?? 0))
  return differ.map((k) => `the source sent ${fromSource[k] ?? 0} ${k} row(s), the files hold ${inFiles[k]}`)
}

/**
 * Reads a finished file's footer back from disk (the footer only: cheap) before the file leaves the
 * machine, and holds its row count against the writer's. A file that says otherwise is never uploaded.
 */
export async function withFooter(f: WrittenFile): Promise<StoredFile> {
  const footer = await readFooter(f.localPath).catch((e: Error) => {
    throw new RunRefused(
      'DATA_INTEGRITY',
      `${f.fileName}: its footer cannot be read back (${e.message}). Nothing was committed; the next run reads the same data again`,
    )
  })
  const groups = sum(footer.rowGroupRows)
  if (footer.rows !== f.rows || groups !== f.rows)
    throw new RunRefused(
      'DATA_INTEGRITY',
      `${f.fileName}: the writer put ${f.rows} rows in it, its footer says ${footer.rows} (row groups: ${groups}). Nothing was committed; the next run reads the same data again`,
    )
  return { ...f, footerRows: footer.rows }
}
