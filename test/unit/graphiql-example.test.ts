import { parse, validate } from 'graphql'
import { expect, it } from 'vitest'
import { GRAPHIQL_EXAMPLE } from '../../src/api/graphiql-example.js'
import { getSchema } from '../../src/api/schema/index.js'

it("GraphiQL's example lists pipelines, runs one and follows it, and is valid against the schema", () => {
  const doc = parse(GRAPHIQL_EXAMPLE)
  expect(validate(getSchema(), doc)).toEqual([])
  expect(doc.definitions.map((d) => ('name' in d ? d.name?.value : undefined))).toEqual(['Pipelines', 'RunPipeline', 'FollowRun'])
})
