import { describe, expect, it } from 'vitest'
import { redact } from '../../src/util/redact.js'

describe('redact', () => {
  it('removes every occurrence of each secret of three characters or more', () => {
    expect(redact('a pw1234 b pw1234', ['pw1234'])).toBe('a *** b ***')
    expect(redact('user abc logged on', ['abc'])).toBe('user *** logged on')
    expect(redact('short', ['ab', undefined, ''])).toBe('short')
  })

  it('removes credentials by their shape, given or not', () => {
    expect(redact('GET /c?sv=2024&sig=SECRET&se=1', [])).toBe('GET /c?sv=***&sig=***&se=***')
    expect(redact('AccountKey=KEY==;EndpointSuffix=x', [])).toBe('AccountKey=***;EndpointSuffix=x')
    expect(redact('Authorization: Bearer eyJ.abc', [])).toBe('Authorization: Bearer ***')
  })
})
