/**
 * OData declares every date and time column nullable, keys included, and Iceberg takes only required
 * fields as identifier fields. The current-state merge matches on the source's whole key by name (a
 * cost center keyed by KOSTL and a validity date DATETO), not on the identifier fields, which would
 * collapse validity periods SAP keeps apart.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { changeLogColumns, planTableWrite } from '../../src/lake/iceberg/index.js'
import { commitToCurrentState } from '../../src/orchestrator/lake/current-state-run.js'
import type { Column } from '../../src/sap/fields.js'
import { LocalDestination } from '../../src/storage/local.js'
import { writeRunFiles } from './helpers.js'

let root: string
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'de-current-'))
})
afterAll(async () => {
  await rm(root, { recursive: true, force: true })
})

// A time-dependent master data entity: cost center keyed by KOSTL and DATETO (Edm.DateTime → nullable).
const SOURCE: Column[] = [
  { name: 'KOSTL', type: { kind: 'string', maxLength: 10 }, nullable: false, key: true },
  { name: 'DATETO', type: { kind: 'date' }, nullable: true, key: true },
  { name: 'TXT', type: { kind: 'string' }, nullable: true, key: false },
]

it('a source whose key holds a (nullable) date column can be kept in a current-state table', async () => {
  const d = new LocalDestination(root)
  const columns = changeLogColumns(SOURCE)
  const keyColumns = columns.filter((c) => c.key).map((c) => c.name) // what planCurrentState and roll-forward use
  const changeLog = await planTableWrite(d, 'cc', columns)
  const rows = [['0000001000', new Date('9999-12-31T00:00:00Z'), 'A', null, null, 'r1', new Date()]]
  const files = await writeRunFiles(d, changeLog.parquet, columns, rows, 'r1')
  const snapshotId = await commitToCurrentState(
    d,
    { tablePath: 'cc_current', keyColumns },
    {
      runId: 'r1',
      pipelineId: 'p-1',
      extractionMode: 'DELTA_INIT',
      changeLogPath: 'cc',
      files,
      columns,
      summary: {},
    },
  )
  expect(snapshotId).toBeGreaterThan(0)
})
