/**
 * Identical queries waiting together share one execution (src/api/execution-queue.ts) and its JSON,
 * serialized once (src/api/shared-json.ts), but only within one token: `me` answers by caller, and two
 * viewers of the same role must never get each other's answer (docs/architecture.md#graphql, "Fair
 * under load"). Sharing is among requests waiting at the same time only: a query asked after a
 * mutation reads what the mutation wrote.
 */
import { afterAll, beforeAll, expect, it } from 'vitest'
import { Harness } from '../helpers/harness.js'
import { gqlPost } from '../helpers/raw-clients.js'

const CREATE_TOKEN = `mutation($name: String!, $role: Role!) { createApiToken(name: $name, role: $role) { token apiToken { name } } }`

let h: Harness
beforeAll(async () => {
  h = await Harness.start()
})
afterAll(() => h?.stop())

it('answers every caller as itself when identical queries arrive together', async () => {
  const url = `${h.app.url}/graphql`
  const viewers: Array<{ token: string; apiToken: { name: string } }> = []
  for (const name of ['ann', 'bob', 'cy']) {
    const r = await gqlPost(url, h.adminToken, CREATE_TOKEN, { name: `same-role-${name}`, role: 'VIEWER' })
    viewers.push(r.json!.data.createApiToken)
  }
  for (let round = 0; round < 10; round++) {
    const answers = await Promise.all(viewers.flatMap((v) => [v, v].map((t) => gqlPost(url, t.token, '{ me { name role } }'))))
    expect(answers.map((a) => a.json?.data.me)).toEqual(
      viewers.flatMap((v) => [v, v].map(() => ({ name: v.apiToken.name, role: 'VIEWER' }))),
    )
    // The bytes too: each body is its own caller's answer, whether or not its JSON was shared.
    expect(answers.map((a) => a.text)).toEqual(
      viewers.flatMap((v) => [v, v].map(() => JSON.stringify({ data: { me: { name: v.apiToken.name, role: 'VIEWER' } } }))),
    )
  }
})

it('answers a query asked after a mutation with what the mutation wrote, however many asked the same before', async () => {
  const url = `${h.app.url}/graphql`
  const { pipelineId } = await h.createPipeline({ name: 'before' })
  const names = async () => {
    const answers = await Promise.all(Array.from({ length: 6 }, () => gqlPost(url, h.adminToken, '{ pipelines { id name } }')))
    expect(new Set(answers.map((a) => a.text)).size).toBe(1)
    return answers[0]!.json!.data.pipelines
  }
  expect(await names()).toEqual([{ id: pipelineId, name: 'before' }])
  for (const name of ['after', 'again']) {
    const renamed = await gqlPost(
      url,
      h.adminToken,
      'mutation($id: ID!, $name: String!) { updatePipeline(id: $id, input: { name: $name }) { name } }',
      {
        id: pipelineId,
        name,
      },
    )
    expect(renamed.json?.data.updatePipeline).toEqual({ name })
    expect(await names()).toEqual([{ id: pipelineId, name }])
  }
})
