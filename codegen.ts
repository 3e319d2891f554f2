import type { CodegenConfig } from '@graphql-codegen/cli'

/**
 * Typed operations: `graphql()` from test/gql (the tests) and from web/gql (the dashboard) returns a
 * TypedDocumentNode whose result and variables types come from the committed schema.graphql. Each
 * target reads only its own documents, so a test's operation never lands in the dashboard's bundle.
 */
const presetOptions = {
  preset: 'client',
  presetConfig: { fragmentMasking: false },
  config: {
    useTypeImports: true,
    enumsAsTypes: true,
    scalars: { DateTime: 'string', BigInt: 'string', JSON: 'unknown', ID: 'string' },
  },
} as const

const config: CodegenConfig = {
  schema: 'schema.graphql',
  ignoreNoDocuments: true,
  generates: {
    'test/gql/': { ...presetOptions, documents: ['test/**/*.ts', '!test/gql/**'] },
    'web/gql/': { ...presetOptions, documents: ['web/**/*.ts', '!web/gql/**'] },
  },
}

export default config
