/**
 * The raw record format of RODPS_REPL_ODP_FETCH's ET_DATA (docs/sap-protocols.md B.4, [CODE — empirical]).
 * Every assumption beyond what B.4 states is marked [INFERRED]:
 *
 * - A record is the delivered fields in ET_FIELDS order, each exactly OUTPUTLENG *characters* wide, in
 *   external format [CODE]. "Character" = one ABAP character = one UTF-16 code unit, so a 4-byte UTF-8
 *   character (emoji, a surrogate pair) counts as TWO characters [INFERRED: ABAP strings are UTF-16].
 * - External format [CODE, B.4]: CHAR left-aligned, blank-padded; numbers right-aligned, blank-padded,
 *   '.' as decimal point, trailing minus ('123.45-'); positives end in a blank (the sign position, as in
 *   B.4's example row '       101 …C                  1 '). NUMC with leading zeros, DATS 'YYYYMMDD', TIMS
 *   'HHMMSS' [INFERRED: internal notation, no user-dependent date format in an extraction API].
 * - OUTPUTLENG [INFERRED, consistent with B.4's example: INT4 = 11, DEC 19,0 = 20]: CHAR/NUMC/DATS/TIMS
 *   = LENG; packed p,s = p + (s > 0 ? 1 : 0) + 1 (digits, point, sign; no thousands separators); INT4 = 11.
 * - Delta-type requests (mode D including the delta init, and R) append ODQ_CHANGEMODE (1 character) and
 *   ODQ_ENTITYCNTR (20 characters, DEC 19,0 as above) after the last delivered field [CODE: "appended at
 *   the end for delta requests"]; they are NOT listed in ET_FIELDS [INFERRED]. Full requests (F) do not
 *   carry them [INFERRED]. Init records have change mode ' ' and counter 0 (§0: initial rows '' / 0).
 * - The record is encoded UTF-8 [CODE] and cut into lines of 250 BYTES [CODE]; a multi-byte character can
 *   be cut between two lines; the last line is padded with 0x00 [CODE]. The number of lines is
 *   ceil(utf8 bytes / 250) [INFERRED]: B.4's JCo client computes ceil(sum(OUTPUTLENG) / 250), which
 *   agrees for ASCII rows but is too small when multi-byte characters push the record over a 250-byte
 *   boundary — a decoder must walk the bytes counting characters, not precompute the line count.
 * - A record never shares a line with the next record [CODE: padding "of the last fragment"].
 * - Each ET_DATA line is the single field DATA of type RAW 250 [INFERRED], so node-rfc returns a Buffer of
 *   exactly 250 bytes (node-rfc wraps RFCTYPE_BYTE as a Buffer of the field length).
 */
import type { SapRow } from '../../types.js'
import type { DdicField } from '../ddic/ddic.js'
import { intType } from '../ddic/ddic.js'

export const FRAGMENT_BYTES = 250

/** ODQ technical fields appended to delta-type records: a one-character change mode, then this counter. */
const ODQ_ENTITYCNTR_LEN = 20

export function odpOutputLen(f: DdicField): number {
  switch (intType(f)) {
    case 'P':
      return f.leng + ((f.decimals ?? 0) > 0 ? 1 : 0) + 1
    case 'I':
      return 11
    default:
      return f.leng
  }
}

/** Right-aligned number with the sign in the last position ('12.50-', '7 '). */
function signedNumber(canonical: string, width: number): string {
  const negative = canonical.startsWith('-')
  return ((negative ? canonical.slice(1) : canonical) + (negative ? '-' : ' ')).padStart(width)
}

/** One field in external format, exactly OUTPUTLENG UTF-16 units wide. */
function externalValue(f: DdicField, value: SapRow[string]): string {
  const width = odpOutputLen(f)
  const t = intType(f)
  if (t === 'P' || t === 'I') return signedNumber(String(value), width)
  const s = String(value ?? '')
  if (s.length > width) throw new Error(`value of ${f.name} is longer than its output length ${width}`)
  return s.padEnd(width)
}

export interface OdqTech {
  changeMode: '' | 'C' | 'U' | 'D'
  entityCounter: number
}

/** The record text: delivered fields, then the ODQ fields for delta-type requests. */
export function formatRecord(fields: readonly DdicField[], row: SapRow, odq?: OdqTech): string {
  let text = ''
  for (const f of fields) text += externalValue(f, row[f.name])
  if (odq) text += (odq.changeMode || ' ') + signedNumber(String(odq.entityCounter), ODQ_ENTITYCNTR_LEN)
  return text
}

/** The ET_DATA lines of one record: UTF-8, 250-byte lines, the last padded with 0x00. */
export function fragments(record: string): Buffer[] {
  const bytes = Buffer.from(record, 'utf8')
  const count = Math.max(1, Math.ceil(bytes.length / FRAGMENT_BYTES))
  const out: Buffer[] = []
  for (let i = 0; i < count; i++) {
    const line = Buffer.alloc(FRAGMENT_BYTES)
    bytes.copy(line, 0, i * FRAGMENT_BYTES, Math.min(bytes.length, (i + 1) * FRAGMENT_BYTES))
    out.push(line)
  }
  return out
}

/** Bytes a record occupies in ET_DATA (what I_MAXPACKAGESIZE counts). */
export function recordBytes(record: string): number {
  return Math.max(1, Math.ceil(Buffer.byteLength(record, 'utf8') / FRAGMENT_BYTES)) * FRAGMENT_BYTES
}
