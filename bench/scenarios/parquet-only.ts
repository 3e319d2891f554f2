/**
 * The Parquet stage alone, on the rows the end-to-end run writes: one page of the simulator's sales
 * items is read and converted by the client (untimed), then written again and again (N rows) through
 * the ParquetRoller with the pipeline defaults (SNAPPY, 100,000-row groups). Only the writing is
 * timed: value conversion, encoding, compression, file output and sha256.
 *   args: <serviceUrl> <pageSize> <rows>
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { OUTPUT_DEFAULTS } from '../../src/catalog/pipeline-world.js'
import { ODataOdpClient } from '../../src/sap/odata/index.js'
import { SALES_ITEMS } from '../../src/simulator/index.js'
import type { Row } from '../../src/sap/fields.js'
import { ParquetRoller } from '../../src/transform/index.js'
import { peakRssMiB, report } from '../lib.js'

const [serviceUrl, pageSize, total] = process.argv.slice(2).map((a, i) => (i === 0 ? a : Number(a))) as [string, number, number]
const client = new ODataOdpClient({ serviceUrl, sapClient: '100', user: 'DEMO', password: 'Welcome1!' })
const read = await client.read({ entitySet: SALES_ITEMS, mode: 'FULL', pageSize })
// One server page of rows (the client may hand a page over in several batches).
const page: Row[] = []
const iterator = read.pages[Symbol.asyncIterator]()
while (page.length < pageSize) {
  const next = await iterator.next()
  if (next.done) break
  page.push(...next.value.rows)
}
await iterator.return?.()

const dir = await mkdtemp(join(tmpdir(), 'de-bench-pq-'))
try {
  const roller = new ParquetRoller(read.columns, {
    dir,
    fileName: (i) => `part-${String(i).padStart(5, '0')}.parquet`,
    compression: OUTPUT_DEFAULTS.compression,
    rowGroupRows: OUTPUT_DEFAULTS.rowGroupRows,
    maxFileBytes: OUTPUT_DEFAULTS.maxFileMb * 1024 * 1024,
  })
  const started = performance.now()
  let rows = 0
  let bytes = 0
  while (rows < total) {
    const batch = page.slice(0, Math.min(page.length, total - rows))
    for (const f of await roller.write(batch)) bytes += f.bytes
    rows += batch.length
  }
  for (const f of await roller.finish()) bytes += f.bytes
  report({ seconds: (performance.now() - started) / 1000, rows, parquetBytes: bytes, peakRssMiB: peakRssMiB() })
} finally {
  await rm(dir, { recursive: true, force: true })
}
