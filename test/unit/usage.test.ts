import { expect, it } from 'vitest'
import { usage } from '../../src/cli/usage.js'
import { parseConfig, settingsWithDefaults } from '../../src/config.js'

it('the usage lists every setting of the environment schema, with its default', () => {
  const text = usage()
  const names = settingsWithDefaults().map(([name]) => name)
  expect(names).toEqual(expect.arrayContaining(['PORT', 'HOST', 'RUN_RETENTION_DAYS', 'S3_DEFAULT_CREDENTIALS_ENDPOINTS']))
  for (const name of names) expect(text).toMatch(new RegExp(`\\b${name}\\b`))
  // every setting a parsed config holds is listed (optional ones without a value are absent from it)
  expect(names).toEqual(expect.arrayContaining(Object.keys(parseConfig({}))))
  expect(text).toContain('PORT=4000')
  expect(text).toContain('RUN_RETENTION_DAYS=90')
})
