import type { CodegenConfig } from '@graphql-codegen/cli'

/**
 * Typed operations for the tests (and any TypeScript client): `graphql()` from test/gql returns a
 * TypedDocumentNode whose result and variables types come from the committed schema.graphql.
 */
const config: CodegenConfig = {
  schema: 'schema.graphql',
  documents: ['test/**/*.ts', '!test/gql/**'],
  ignoreNoDocuments: true,
  generates: {
    'test/gql/': {
      preset: 'client',
      presetConfig: { fragmentMasking: false },
      config: {
        useTypeImports: true,
        enumsAsTypes: true,
        scalars: { DateTime: 'string', BigInt: 'string', JSON: 'unknown', ID: 'string' },
      },
    },
  },
}

export default config
