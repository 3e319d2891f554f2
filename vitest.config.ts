import { createRequire } from 'node:module'
import { defineConfig } from 'vitest/config'

const require = createRequire(import.meta.url)

/** Tests that touch the metadata database run once per database; the rest run once. */
const DB_TESTS = ['test/e2e/**/*.test.ts', 'test/db/**/*.test.ts']

export default defineConfig({
  resolve: {
    // One copy of graphql for Pothos, Yoga and the tests ("Cannot use GraphQLObjectType from another realm").
    alias: { graphql: require.resolve('graphql') },
  },
  test: {
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    projects: [
      { extends: true, test: { name: 'unit', include: ['test/**/*.test.ts'], exclude: DB_TESTS } },
      { extends: true, test: { name: 'sqlite', include: DB_TESTS, env: { TEST_DB: 'sqlite' } } },
      {
        extends: true,
        test: { name: 'postgres', include: DB_TESTS, env: { TEST_DB: 'postgres' }, globalSetup: ['test/helpers/pg-template.ts'] },
      },
    ],
  },
})
