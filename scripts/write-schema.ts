/**
 * Writes schema.graphql from the code-first schema (what codegen and clients read), or with
 * --check fails when the committed file differs from what the code builds.
 */
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { printedSchema } from '../src/api/schema/index.js'

const file = join(import.meta.dirname, '..', 'schema.graphql')
const built = printedSchema()
if (process.argv.includes('--check')) {
  let committed = ''
  try {
    committed = readFileSync(file, 'utf8')
  } catch {}
  if (committed !== built) {
    console.error('schema.graphql differs from the schema the code builds: run npm run schema:write')
    process.exit(1)
  }
  console.log('schema.graphql is up to date')
} else {
  writeFileSync(file, built)
  console.log('wrote schema.graphql')
}
