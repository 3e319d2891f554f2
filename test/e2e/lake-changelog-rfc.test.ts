/**
 * A TABLE_RFC FULL pipeline with `output: { table: ICEBERG }` (docs/architecture.md#lake-commit):
 * RFC_READ_TABLE rows carry no change mode, so the change-log columns are added (null); each FULL run
 * is one snapshot, compared with the table's current schema as its baseline — an added field becomes
 * a new column, a removed one fails the run with SCHEMA_CHANGED and leaves the table as it was.
 */
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { readFile } from 'node:fs/promises'
import { icebergMetadata, icebergRead } from 'icebird'
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest'
import { sapSourceFactory } from '../../src/orchestrator/sources.js'
import { startRfcSimulator } from '../../src/simulator/rfc/index.js'
import { graphql } from '../gql/index.js'
import { Harness, SAP_PASSWORD, SAP_USER } from '../helpers/harness.js'
import { fileObjects, withObjectFetch } from '../helpers/object-fetch.js'
import { TEST_OUTBOUND } from '../helpers/outbound.js'

const CreateRfcConnection = graphql(`mutation LakeRfcConnection($input: CreateConnectionInput!) { createConnection(input: $input) { id } }`)
const CreateLake = graphql(`mutation LakeRfcLake($input: CreateDestinationInput!) { createDestination(input: $input) { id } }`)
const CreatePipeline = graphql(`mutation LakeRfcPipeline($input: CreatePipelineInput!) { createPipeline(input: $input) { id } }`)
const LakeTableOf = graphql(`query LakeRfcTable($id: ID!) { pipeline(id: $id) { lakeTable { location version } } }`)

let restoreFetch: () => void
beforeAll(() => {
  restoreFetch = withObjectFetch(fileObjects)
})
afterAll(() => restoreFetch())
let close: (() => Promise<void>) | undefined
afterEach(async () => {
  await close?.()
  close = undefined
})

it('TABLE_RFC FULL: one snapshot per run, change-log columns null, an added field a new column, a removed one refused', async () => {
  const rfc = await startRfcSimulator({ tables: { ZSD_ITEMS: 25 } })
  const h = await Harness.start({
    orchestrator: {
      sources: sapSourceFactory({ rfcClientFactory: (p) => rfc.createClient(p), retries: 1, backoffMs: 5, outbound: TEST_OUTBOUND }),
    },
  })
  close = async () => {
    await h.stop()
    await rfc.close()
  }
  // Values too wide for RFC_READ_TABLE's output slot (kept on purpose by the simulator): not read.
  for (const f of ['NETPR', 'RABAT', 'ANZPK']) rfc.admin.dropField('ZSD_ITEMS', f)
  const { createConnection } = await h.gql(CreateRfcConnection, {
    input: {
      name: 'erp',
      protocol: 'RFC',
      rfcConfig: { ashost: 'localhost', sysnr: '00', client: '100', user: SAP_USER, passwd: SAP_PASSWORD, lang: 'EN' },
    },
  })
  const { createDestination } = await h.gql(CreateLake, { input: { name: 'lake', kind: 'LOCAL', local: { path: h.lakeDir } } })
  const id = (
    await h.gql(CreatePipeline, {
      input: {
        name: 'mara',
        mode: 'FULL',
        connectionId: createConnection.id,
        destinationId: createDestination.id,
        source: { kind: 'TABLE_RFC', table: 'ZSD_ITEMS', pageSize: 10 },
        output: { table: 'ICEBERG' },
      },
    })
  ).createPipeline.id

  const first = await h.run(id)
  expect(first).toMatchObject({ status: 'SUCCEEDED', extractionMode: 'FULL', rowsWritten: '25', error: null })
  const tableUrl = (await h.gql(LakeTableOf, { id })).pipeline!.lakeTable!.location
  let rows = await icebergRead({ tableUrl })
  expect(rows).toHaveLength(25)
  expect(rows.every((r) => r.ODQ_CHANGEMODE == null && r.ODQ_ENTITYCNTR == null && r._RUN_ID === first.id)).toBe(true)

  rfc.admin.addField('ZSD_ITEMS', { name: 'ZZNOTE', type: { abap: 'CHAR', length: 6 } })
  const second = await h.run(id)
  expect(second).toMatchObject({ status: 'SUCCEEDED', rowsWritten: '25', error: null })
  const meta = await icebergMetadata({ tableUrl })
  expect(meta['current-schema-id']).toBe(1)
  expect(meta.schemas[1].fields.find((f) => f.name === 'ZZNOTE')).toMatchObject({ required: false, type: 'string' })
  rows = await icebergRead({ tableUrl })
  expect(rows.filter((r) => r._RUN_ID === first.id).every((r) => r.ZZNOTE == null)).toBe(true)
  expect(rows.filter((r) => r._RUN_ID === second.id)).toHaveLength(25)

  const hint = join(fileURLToPath(tableUrl), 'metadata/version-hint.text')
  expect(await readFile(hint, 'utf8')).toBe('2')
  rfc.admin.dropField('ZSD_ITEMS', 'ZZNOTE')
  const third = await h.run(id)
  expect(third).toMatchObject({ status: 'FAILED', manifestUri: null, error: { code: 'SCHEMA_CHANGED', retryable: false } })
  expect(third.error!.message).toMatch(/ZZNOTE removed/)
  expect(await readFile(hint, 'utf8')).toBe('2')
  expect(await icebergRead({ tableUrl })).toHaveLength(50)
})
