/**
 * Raw ODP rows split over 250-byte ET_DATA lines (docs/sap-protocols.md §B.4). Fixtures are built here from
 * the reference's description, byte by byte, not with the decoder's help.
 */
import { describe, expect, it } from 'vitest'
import { SourceError } from '../../../src/sap/errors.js'
import { FRAGMENT_BYTES, RawRowDecoder } from '../../../src/sap/rfc/fragments.js'

/** One logical row: the UTF-8 bytes of its text cut into 250-byte lines, the last padded with 0x00. */
function lines(rowText: string): Buffer[] {
  const bytes = Buffer.from(rowText, 'utf8')
  const out: Buffer[] = []
  for (let at = 0; at < bytes.length; at += FRAGMENT_BYTES) {
    const line = Buffer.alloc(FRAGMENT_BYTES)
    bytes.copy(line, 0, at, Math.min(at + FRAGMENT_BYTES, bytes.length))
    out.push(line)
  }
  return out
}

/** A slot of `width` ABAP characters (UTF-16 units), left- or right-aligned. */
const left = (s: string, width: number) => s + ' '.repeat(width - s.length)
const right = (s: string, width: number) => ' '.repeat(width - s.length) + s

describe('RawRowDecoder', () => {
  it('decodes the reference row: INT4, text with an emoji, FLTP, change mode, counter (§B.4)', () => {
    // '       101 🍉          6.0000000000000000E+02C                  1 ' followed by NULs
    const widths = [11, 12, 22, 1, 20]
    const row = right('101 ', 11) + left('🍉', 12) + '6.0000000000000000E+02' + 'C' + right('1 ', 20)
    expect(row.length).toBe(66)
    const [fields] = new RawRowDecoder(widths).decode(lines(row))
    expect(fields).toEqual(['       101 ', '🍉          ', '6.0000000000000000E+02', 'C', '                  1 '])
  })

  it('counts characters, not bytes: multi-byte text straddling a line boundary stays intact', () => {
    // 245 ASCII characters, then CJK (3 bytes each) and an emoji (4 bytes, 2 UTF-16 units): the 2nd
    // CJK character occupies bytes 248..250 and so starts on line 1 and ends on line 2.
    const text = '日本語テキスト😀Größe'
    const widths = [245, 20, 10]
    const row = 'a'.repeat(245) + left(text, 20) + right('42.50-', 10)
    const bytes = Buffer.from(row, 'utf8')
    expect(bytes.length).toBeGreaterThan(FRAGMENT_BYTES)
    expect(bytes[FRAGMENT_BYTES] & 0xc0).toBe(0x80) // line 2 starts with a continuation byte
    const rows = new RawRowDecoder(widths).decode([...lines(row), ...lines(left('x', 245) + left('ü', 20) + right('1.00', 10))])
    expect(rows).toHaveLength(2)
    expect(rows[0][1].trimEnd()).toBe(text)
    expect(rows[0][2]).toBe('    42.50-')
    expect(rows[1]).toEqual([left('x', 245), left('ü', 20), right('1.00', 10)])
  })

  it('a row whose bytes end exactly on a line boundary is followed directly by the next row', () => {
    const a = 'é'.repeat(125) // 250 bytes, 125 characters
    const rows = new RawRowDecoder([125]).decode([...lines(a), ...lines('b'.repeat(125))])
    expect(rows).toEqual([[a], ['b'.repeat(125)]])
  })

  it('a row cut short by 0x00 padding is blank-padded; trailing padding lines are ignored', () => {
    const rows = new RawRowDecoder([5, 5]).decode([...lines('ab'), Buffer.alloc(FRAGMENT_BYTES)])
    expect(rows).toEqual([['ab   ', '     ']])
    expect(new RawRowDecoder([3]).decode([])).toEqual([])
  })

  it('lines a driver trimmed of trailing 0x00 are padded back; hex text lines are accepted', () => {
    const rows = new RawRowDecoder([3, 3]).decode([{ DATA: Buffer.from('abcdef') }, { DATA: Buffer.from('xyz').toString('hex') }])
    expect(rows).toEqual([
      ['abc', 'def'],
      ['xyz', '   '],
    ])
  })

  it('a layout that does not match the data fails loudly instead of shifting fields', () => {
    // 10 characters announced, 12 delivered: the extra bytes are not 0x00 padding
    expect(() => new RawRowDecoder([4, 6]).decode(lines('abcdefghijkl'))).toThrow(SourceError)
    expect(() => new RawRowDecoder([4, 6]).decode(lines('abcdefghijkl'))).toThrow(/longer than its 10 characters/)
    // invalid UTF-8
    expect(() => new RawRowDecoder([4]).decode([Buffer.from([0x61, 0xc3, 0x28, 0x61])])).toThrow(/not valid UTF-8/)
    // an emoji cannot be split between two fields' worth of characters at the row end
    expect(() => new RawRowDecoder([1]).decode(lines('😀'))).toThrow(/straddles the end of the row/)
    // a line longer than 250 bytes
    expect(() => new RawRowDecoder([1]).decode([Buffer.alloc(251, 0x61)])).toThrow(/251 bytes/)
  })
})
