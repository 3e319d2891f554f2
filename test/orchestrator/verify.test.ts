/**
 * The integrity check before a commit, on files a real ParquetRoller wrote: it passes when the
 * figures agree, and refuses with DATA_INTEGRITY, naming the counts, when a file is missing from the
 * list (the old roller's bug), a row went astray, the change modes do not add up, or a file's
 * footer disagrees with what the writer says it holds.
 */
import { copyFile, truncate } from 'node:fs/promises'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { ChangeCounter } from '../../src/orchestrator/change-counter.js'
import { RunRefused } from '../../src/orchestrator/run-errors.js'
import type { Extracted, StoredFile } from '../../src/orchestrator/run/stream.js'
import { verifyConservation, withFooter } from '../../src/orchestrator/run/verify.js'
import type { Column, Row } from '../../src/sap/fields.js'
import { ParquetRoller, type WrittenFile } from '../../src/transform/index.js'
import { col, makeTempDir, partName, removeDir } from '../transform/helpers.js'

const columns: Column[] = [
  col('VBELN', { kind: 'string' }, false, { key: true }),
  col('ODQ_CHANGEMODE', { kind: 'string' }),
  col('ODQ_ENTITYCNTR', { kind: 'decimal', precision: 19, scale: 0 }),
]
/** C, U after image, U before image, D, in turn. */
const rowOf = (i: number): Row => {
  const [mode, counter] = (
    [
      ['C', '1'],
      ['U', '1'],
      ['U', '-1'],
      ['D', '-1'],
    ] as const
  )[i % 4]
  return [String(i).padStart(10, '0'), mode, counter]
}

let dir: string
beforeEach(() => {
  dir = makeTempDir()
})
afterEach(() => removeDir(dir))

/** 2,500 rows through a roller that closes a file after every row group of 1,000. */
async function written(): Promise<{ extracted: Extracted; files: StoredFile[] }> {
  const changes = new ChangeCounter(columns)
  const roller = new ParquetRoller(columns, {
    dir,
    fileName: partName,
    compression: 'SNAPPY',
    rowGroupRows: 1000,
    maxFileBytes: 1,
    countBy: changes.classify,
  })
  const rows = Array.from({ length: 2500 }, (_, i) => rowOf(i))
  changes.count(rows)
  const handed: WrittenFile[] = [...(await roller.write(rows)), ...(await roller.finish())]
  const files = await Promise.all(handed.map(withFooter))
  const extracted: Extracted = {
    columns,
    end: { position: 'p', token: 't' },
    files,
    ledger: roller.ledger,
    rowsFromSource: rows.length,
    rowsAccepted: roller.rowsAccepted,
    rowsEncoded: roller.rowsWritten,
    changes,
  }
  return { extracted, files }
}

function refusal(x: Extracted): string {
  try {
    verifyConservation(x)
  } catch (e) {
    expect(e).toBeInstanceOf(RunRefused)
    expect(e).toMatchObject({ code: 'DATA_INTEGRITY', retryable: false })
    return (e as Error).message
  }
  throw new Error('expected DATA_INTEGRITY')
}

describe('verifyConservation', () => {
  it('passes when the source, the writer, the ledger, the footers and the change modes agree', async () => {
    const { extracted, files } = await written()
    expect(files.map((f) => f.rows)).toEqual([1000, 1000, 500])
    expect(() => verifyConservation(extracted)).not.toThrow()
  })

  it('refuses a file list missing the last file, naming the counts (the old roller dropped it)', async () => {
    const { extracted, files } = await written()
    const message = refusal({ ...extracted, files: files.slice(0, 2) })
    expect(message).toContain('the 2 file(s) listed hold 2000 rows, the source sent 2500')
    expect(message).toContain('the writer opened 3 file(s)')
    expect(message).toContain('part-00002.parquet (500)')
    expect(message).toMatch(/Nothing was committed/)
  })

  it('refuses rows the source sent that the writer never accepted, or accepted and never encoded', async () => {
    const { extracted } = await written()
    expect(refusal({ ...extracted, rowsFromSource: 2501 })).toContain('the source sent 2501 rows, the Parquet writer accepted 2500')
    expect(refusal({ ...extracted, rowsEncoded: 2000 })).toContain('the writer accepted 2500 rows and encoded 2000')
  })

  it('refuses change modes that do not add up between the pages and the files', async () => {
    const { extracted } = await written()
    const changes = new ChangeCounter(columns)
    changes.count(Array.from({ length: 2500 }, (_, i) => rowOf(i === 7 ? 4 : i))) // one D counted as a C
    const message = refusal({ ...extracted, changes })
    expect(message).toContain('the source sent 626 created row(s), the files hold 625')
    expect(message).toContain('the source sent 624 deleted row(s), the files hold 625')
  })

  it('refuses a file listed twice', async () => {
    const { extracted, files } = await written()
    expect(refusal({ ...extracted, files: [files[0], files[0], files[2]] })).toContain('the writer opened 3 file(s)')
  })
})

describe('withFooter', () => {
  it('holds the row count the writer kept against the footer read back from the file', async () => {
    const { files } = await written()
    const claimed = { ...files[2], rows: 501 }
    await expect(withFooter(claimed)).rejects.toMatchObject({
      code: 'DATA_INTEGRITY',
      message: expect.stringContaining('part-00002.parquet: the writer put 501 rows in it, its footer says 500'),
    })
  })

  it('refuses a file whose footer is gone', async () => {
    const { files } = await written()
    const damaged = `${dir}/damaged.parquet`
    await copyFile(files[0].localPath, damaged)
    await truncate(damaged, 100)
    await expect(withFooter({ ...files[0], localPath: damaged })).rejects.toMatchObject({
      code: 'DATA_INTEGRITY',
      message: expect.stringContaining('part-00000.parquet: its footer cannot be read back'),
    })
  })
})
