/**
 * The continuity check holds at the commit, not only when the run was planned: a DELTA whose table
 * is gone (or ends at another run) by the time it is applied is refused (LAKE_OUT_OF_STEP) instead of
 * re-creating the table holding only the delta.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { planTableWrite } from '../../src/lake/iceberg/index.js'
import { commitToCurrentState } from '../../src/orchestrator/lake/current-state-run.js'
import { LocalDestination } from '../../src/storage/local.js'
import { AT, COLUMNS, afterImage, KEY } from './current-state-model.js'
import { writeRunFiles } from './helpers.js'

let root: string
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'de-current-'))
})
afterAll(async () => {
  await rm(root, { recursive: true, force: true })
})

it('a DELTA is not applied to a current-state table that does not exist (it would hold only the delta)', async () => {
  const d = new LocalDestination(root)
  const plan = await planTableWrite(d, 'x/p_current', COLUMNS)
  const rows = [afterImage(1, 5)].map((r) => [...r.slice(0, -2), 'r9', AT])
  const files = await writeRunFiles(d, plan.parquet, COLUMNS, rows, 'r9')
  const applied = commitToCurrentState(
    d,
    { tablePath: 'x/p_current', keyColumns: KEY, continuesFrom: 'r8' },
    {
      runId: 'r9',
      pipelineId: 'p-1',
      extractionMode: 'DELTA',
      changeLogPath: 'x/p',
      files,
      columns: COLUMNS,
      summary: {},
    },
  )
  await expect(applied).rejects.toThrow()
})
