/**
 * Identical queries waiting together share one execution (src/api/execution-queue.ts), but only
 * within one token: `me` answers by caller, and two viewers of the same role must never get each
 * other's answer (docs/architecture.md#graphql, "Fair under load").
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
  }
})
