import { describe, expect, it } from 'vitest'
import { SourceError } from '../../../src/sap/errors.js'
import { isTerminalDeltaNext, parseDeltaToken } from '../../../src/sap/odata/delta-link.js'
import { pickDeltaLink } from '../../../src/sap/odata/delta-links-set.js'

const T = 'D20250914154609_000019000'

describe('parseDeltaToken', () => {
  it.each([
    [`https://sap:44300/sap/opu/odata/sap/Z_SALES_SRV/EntityOfZSALES?!deltatoken='${T}'`],
    [`https://sap:44300/sap/opu/odata/sap/Z_SALES_SRV/EntityOfZSALES?!deltatoken=${T}`],
    [`https://sap/x/EntityOfZSALES?$format=json&!deltatoken='${T}'&sap-client=100`],
    [`https://sap/x/EntityOfZSALES?&!deltatoken='${T}'`],
    [`https://sap/x/EntityOfZSALES?$deltatoken=${T}`],
    [`https://sap/x/EntityOfZSALES?$select=A,B&%21deltatoken=%27${T}%27`],
    [`/sap/opu/odata/sap/Z_SALES_SRV/EntityOfZSALES?!deltatoken='${T}'`],
    [`https://sap/x/DeltaLinksOfEntityOfZSALES('${T}')/ChangesAfter?$format=json`],
    [`DeltaLinksOfEntityOfZSALES(DeltaToken='${T}')/ChangesAfter`],
    [T],
    [`'${T}'`],
    [`  ${T}\n`],
  ])('%s', (input) => {
    expect(parseDeltaToken(input)).toBe(T)
  })

  it('treats tokens as opaque', () => {
    expect(parseDeltaToken("…/X?!deltatoken='D20260910'")).toBe('D20260910')
    expect(parseDeltaToken('abc_123')).toBe('abc_123')
  })

  it('throws SOURCE_BAD_REQUEST without a token, never echoing credentials', () => {
    for (const bad of ['', "''", 'https://user:secret@sap/x/EntityOfZSALES?$format=json', 'not a token']) {
      let err: unknown
      try {
        parseDeltaToken(bad)
      } catch (e) {
        err = e
      }
      expect(err).toBeInstanceOf(SourceError)
      expect((err as SourceError).code).toBe('SOURCE_BAD_REQUEST')
      expect((err as SourceError).message).not.toContain('secret')
    }
  })
})

describe('isTerminalDeltaNext', () => {
  it('a __next with a token and no paging parameter is the next delta link (A.6.5 case 2)', () => {
    expect(isTerminalDeltaNext(`https://sap/x/EntityOfX?$format=json&!deltatoken=D20260910`)).toBe(true)
    expect(isTerminalDeltaNext(`https://sap/x/EntityOfX?!deltatoken='${T}'`)).toBe(true)
  })
  it('a delta read continuing over pages carries the token and a $skiptoken: that is a page (A.9 step 4)', () => {
    expect(isTerminalDeltaNext(`https://sap/x/EntityOfZSALES?!deltatoken='${T}'&$skiptoken='T2'`)).toBe(false)
    expect(isTerminalDeltaNext(`https://sap/x/EntityOfZSALES?$skiptoken=abc`)).toBe(false)
    expect(isTerminalDeltaNext(`https://sap/x/EntityOfZSALES?$skip=100&$top=100`)).toBe(false)
  })
})

describe('pickDeltaLink', () => {
  const e = (token: string, iso: string, isInitialLoad: boolean) => ({ token, createdAt: new Date(iso), isInitialLoad })
  const entries = [
    e('D20250101000000_000001000', '2025-01-01T00:00:00Z', true),
    e('D20250102000000_000002000', '2025-01-02T00:00:00Z', false),
    e('D20250103000000_000003000', '2025-01-03T00:00:00Z', true),
    e('D20250104000000_000004000', '2025-01-04T00:00:00Z', false),
  ]
  it('after an init: the newest IsInitialLoad entry', () => {
    expect(pickDeltaLink(entries, true)!.token).toBe('D20250103000000_000003000')
  })
  it('after a delta: the newest entry', () => {
    expect(pickDeltaLink(entries, false)!.token).toBe('D20250104000000_000004000')
  })
  it('after an init without any IsInitialLoad entry: the newest', () => {
    expect(
      pickDeltaLink(
        entries.filter((x) => !x.isInitialLoad),
        true,
      )!.token,
    ).toBe('D20250104000000_000004000')
  })
  it('CreatedAt ties (second precision) are broken by token order, whatever the list order', () => {
    const a = e('D20250104000000_000004000', '2025-01-04T00:00:00Z', false)
    const b = e('D20250104000000_000005000', '2025-01-04T00:00:00Z', false)
    expect(pickDeltaLink([b, a], false)!.token).toBe(b.token)
    expect(pickDeltaLink([a, b], false)!.token).toBe(b.token)
  })
  it('none', () => {
    expect(pickDeltaLink([], true)).toBeUndefined()
  })
})
