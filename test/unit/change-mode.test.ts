import { describe, expect, it } from 'vitest'
import { SourceError } from '../../src/sap/errors.js'
import { classifyChange } from '../../src/sap/fields.js'

describe('classifyChange', () => {
  it('maps ODQ change mode and entity counter to the change it stands for', () => {
    expect(classifyChange('C', '1')).toBe('created')
    expect(classifyChange('U', '1')).toBe('updated')
    expect(classifyChange('U', '-1')).toBe('before-image')
    expect(classifyChange('D', '-1')).toBe('deleted')
    expect(classifyChange('', '0')).toBeNull()
    expect(classifyChange(null, null)).toBeNull()
  })

  it('refuses a mode SAP does not document, as a protocol error of the source (not an internal one)', () => {
    const e = (() => {
      try {
        classifyChange('X', '1')
      } catch (err) {
        return err
      }
    })()
    expect(e).toBeInstanceOf(SourceError)
    expect(e).toMatchObject({ code: 'SOURCE_PROTOCOL', retryable: false, message: expect.stringContaining('unknown ODQ change mode "X"') })
  })
})
