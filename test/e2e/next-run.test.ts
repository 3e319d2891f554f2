/**
 * `nextRunAt` promises a run at that time: it is shown only where a scheduler can keep the promise
 * (issue 12, "the first hour"): never for a disabled pipeline, never when SCHEDULER=false.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { graphql } from '../gql/index.js'
import { Harness } from '../helpers/harness.js'

const Schedule = graphql(`
  mutation NextRunSchedule($id: ID!, $input: UpdatePipelineInput!) { updatePipeline(id: $id, input: $input) { schedule enabled nextRunAt } }
`)
const Read = graphql(`query NextRunRead($id: ID!) { pipeline(id: $id) { schedule nextRunAt } }`)

describe('nextRunAt', () => {
  let h: Harness | undefined
  afterEach(async () => {
    await h?.stop()
    h = undefined
  })

  it('is the next fire time while a scheduler runs, and null once the pipeline is disabled', async () => {
    h = await Harness.start({ scheduler: true })
    const { pipelineId } = await h.createPipeline({ mode: 'FULL' })
    const on = (await h.gql(Schedule, { id: pipelineId, input: { schedule: '0 3 * * *', timezone: 'UTC' } })).updatePipeline
    expect(on.nextRunAt).toMatch(/T03:00:00\.000Z$/)
    expect(new Date(on.nextRunAt!).getTime()).toBeGreaterThan(Date.now())
    const off = (await h.gql(Schedule, { id: pipelineId, input: { enabled: false } })).updatePipeline
    expect(off).toEqual({ schedule: '0 3 * * *', enabled: false, nextRunAt: null })
  })

  it('is null when SCHEDULER=false: nothing would start the run then', async () => {
    h = await Harness.start({ scheduler: false })
    const { pipelineId } = await h.createPipeline({ mode: 'FULL' })
    const set = (await h.gql(Schedule, { id: pipelineId, input: { schedule: '0 3 * * *' } })).updatePipeline
    expect(set).toEqual({ schedule: '0 3 * * *', enabled: true, nextRunAt: null })
    // The time is still kept: a restart with the scheduler on fires it.
    const stored = await h.app.services.db.pipeline.findUniqueOrThrow({ where: { id: pipelineId } })
    expect(stored.nextRunAt?.toISOString()).toMatch(/T03:00:00\.000Z$/)
    expect((await h.gql(Read, { id: pipelineId })).pipeline).toEqual({ schedule: '0 3 * * *', nextRunAt: null })
  })
})
