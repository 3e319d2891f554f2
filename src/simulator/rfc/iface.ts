/**
 * Function-module interfaces and the marshalling node-rfc does around a call: parameter-name and type
 * checks on the way in (node-rfc src/cpp/nwrfcsdk.cc setVariable), and on the way out every parameter
 * of the interface in the shape node-rfc returns it (getRfmParameters): IMPORTING parameters echoed,
 * CHAR/STRING right-trimmed of ASCII whitespace (wrapString), NUMC as zero-padded strings, INT as
 * numbers, RAW as Buffers of the full field length, TABLES as arrays of complete row objects.
 */
import type { RfmPath } from './errors.js'
import { invalidParameter, nodeRfcError, valueTooLong } from './errors.js'

export type FieldType = { t: 'CHAR'; len: number } | { t: 'NUMC'; len: number } | { t: 'INT' } | { t: 'RAW'; len: number } | { t: 'STRING' }

export type RowType = Readonly<Record<string, FieldType>>
export type ParamType = FieldType | { t: 'TABLE'; row: RowType } | { t: 'STRUCT'; row: RowType }

export interface ParamDef {
  name: string
  dir: 'IMPORT' | 'EXPORT' | 'TABLES'
  type: ParamType
  /** IMPORT default when the caller omits the parameter. */
  default?: string | number
}

export interface FunctionInterface {
  name: string
  params: readonly ParamDef[]
}

export const CHAR = (len: number): FieldType => ({ t: 'CHAR', len })
export const NUMC = (len: number): FieldType => ({ t: 'NUMC', len })
export const INT: FieldType = { t: 'INT' }
export const RAW = (len: number): FieldType => ({ t: 'RAW', len })
export const STRING: FieldType = { t: 'STRING' }
export const TABLE = (row: RowType): ParamType => ({ t: 'TABLE', row })
export const STRUCT = (row: RowType): ParamType => ({ t: 'STRUCT', row })

/** BAPIRET2, the return structure of the RODPS_REPL_* modules (B.1 "ET_RETURN (BAPIRET2-like)"). */
export const BAPIRET2: RowType = {
  TYPE: CHAR(1),
  ID: CHAR(20),
  NUMBER: NUMC(3),
  MESSAGE: CHAR(220),
  LOG_NO: CHAR(20),
  LOG_MSG_NO: NUMC(6),
  MESSAGE_V1: CHAR(50),
  MESSAGE_V2: CHAR(50),
  MESSAGE_V3: CHAR(50),
  MESSAGE_V4: CHAR(50),
  PARAMETER: CHAR(32),
  ROW: INT,
  FIELD: CHAR(30),
  SYSTEM: CHAR(10),
}

/** RFCTYPE numbers node-rfc prints in its type errors (sapnwrfc.h RFCTYPE enum). */
const RFCTYPE: Record<FieldType['t'], number> = { CHAR: 0, RAW: 4, NUMC: 6, INT: 8, STRING: 29 }

/** node-rfc trims with C isspace() on the UTF-8 bytes: only ASCII whitespace goes. */
function rtrim(s: string): string {
  return s.replace(/[ \t\n\v\f\r]+$/, '')
}

function checkField(type: FieldType, value: unknown, path: RfmPath): unknown {
  switch (type.t) {
    case 'CHAR':
    case 'STRING': {
      if (typeof value !== 'string') throw nodeRfcError(`String expected from NodeJS for ABAP field of type ${RFCTYPE[type.t]}`, path)
      const v = rtrim(value)
      if (type.t === 'CHAR' && v.length > type.len) throw valueTooLong(path, v.length, type.len)
      return v
    }
    case 'NUMC': {
      if (typeof value !== 'string') throw nodeRfcError(`Char expected from NodeJS for ABAP field of type ${RFCTYPE.NUMC}`, path)
      return value
    }
    case 'INT': {
      if (typeof value !== 'number') throw nodeRfcError(`Integer number expected from NodeJS for ABAP field of type ${RFCTYPE.INT}`, path)
      if (!Number.isInteger(value)) {
        throw nodeRfcError(`Integer number expected from NodeJS for ABAP field of type ${RFCTYPE.INT}, got ${value}`, path)
      }
      return value
    }
    case 'RAW': {
      if (!Buffer.isBuffer(value)) throw nodeRfcError(`Buffer expected from NodeJS for ABAP field of type ${RFCTYPE.RAW}`, path)
      return value
    }
  }
}

function checkRow(row: RowType, line: unknown, path: RfmPath): Record<string, unknown> {
  // node-rfc turns a scalar table line into { '': line }, which then fails as an unknown field
  const obj: Record<string, unknown> =
    typeof line === 'object' && line !== null && !Buffer.isBuffer(line) ? (line as Record<string, unknown>) : { '': line }
  const out: Record<string, unknown> = {}
  for (const [name, value] of Object.entries(obj)) {
    const type = row[name]
    if (type === undefined) throw invalidParameter({ ...path, field: name }, name)
    if (value === undefined) continue
    out[name] = checkField(type, value, { ...path, field: name })
  }
  return out
}

/**
 * Validates the caller's parameters the way node-rfc and the SDK do before anything reaches SAP, and
 * returns them with IMPORT defaults filled in and table lines as (partial) row objects.
 */
export function readInput(fi: FunctionInterface, params: Record<string, unknown>): Record<string, unknown> {
  const input: Record<string, unknown> = {}
  for (const [name, value] of Object.entries(params)) {
    const def = fi.params.find((p) => p.name === name)
    const path: RfmPath = { rfm: fi.name, parameter: name }
    if (!def) throw invalidParameter(path, name)
    if (value === undefined) continue
    if (def.type.t === 'TABLE') {
      if (!Array.isArray(value)) throw nodeRfcError('Array expected from NodeJS, for ABAP RFM table of type 5', path)
      const row = def.type.row
      input[name] = value.map((line, i) => checkRow(row, line, { ...path, table: name, table_line: i }))
    } else if (def.type.t === 'STRUCT') {
      if (typeof value !== 'object' || value === null) throw nodeRfcError('Structure expected from NodeJS for ABAP field of type 17', path)
      input[name] = checkRow(def.type.row, value, path)
    } else {
      input[name] = checkField(def.type, value, path)
    }
  }
  for (const def of fi.params) {
    if (def.dir !== 'IMPORT' || def.name in input || def.type.t === 'TABLE') continue
    input[def.name] = def.type.t === 'STRUCT' ? {} : (def.default ?? defaultOf(def.type))
  }
  return input
}

function defaultOf(type: FieldType): unknown {
  switch (type.t) {
    case 'CHAR':
    case 'STRING':
      return ''
    case 'NUMC':
      return '0'.repeat(type.len)
    case 'INT':
      return 0
    case 'RAW':
      return Buffer.alloc(type.len)
  }
}

function outField(type: FieldType, value: unknown): unknown {
  if (value === undefined || value === null) return defaultOf(type)
  switch (type.t) {
    case 'CHAR':
    case 'STRING':
      return rtrim(String(value))
    case 'NUMC': {
      const digits = String(value)
      return digits.length >= type.len ? digits.slice(-type.len) : digits.padStart(type.len, '0')
    }
    case 'INT':
      return Number(value)
    case 'RAW': {
      const buf = Buffer.alloc(type.len)
      ;(value as Buffer).copy(buf, 0, 0, type.len)
      return buf
    }
  }
}

function outRow(row: RowType, line: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const [name, type] of Object.entries(row)) out[name] = outField(type, line[name])
  return out
}

/**
 * The object `call()` resolves with: every parameter of the interface, in interface order. Tables the
 * handler did not return are echoed from the input (TABLES parameters are passed both ways).
 */
export function buildOutput(
  fi: FunctionInterface,
  input: Record<string, unknown>,
  output: Record<string, unknown>,
): Record<string, unknown> {
  const result: Record<string, unknown> = {}
  for (const def of fi.params) {
    if (def.type.t === 'TABLE') {
      const lines = (output[def.name] ?? input[def.name] ?? []) as Array<Record<string, unknown>>
      const row = def.type.row
      result[def.name] = lines.map((l) => outRow(row, l))
    } else if (def.type.t === 'STRUCT') {
      const value = def.dir === 'IMPORT' ? input[def.name] : output[def.name]
      result[def.name] = outRow(def.type.row, (value ?? {}) as Record<string, unknown>)
    } else {
      const value = def.dir === 'IMPORT' ? input[def.name] : output[def.name]
      result[def.name] = outField(def.type, value)
    }
  }
  return result
}

/** One BAPIRET2 line. */
export function bapiret(
  type: 'E' | 'W' | 'S' | 'I' | 'A' | 'X',
  id: string,
  number: string,
  message: string,
  v: string[] = [],
): Record<string, unknown> {
  return {
    TYPE: type,
    ID: id,
    NUMBER: number,
    MESSAGE: message,
    MESSAGE_V1: v[0] ?? '',
    MESSAGE_V2: v[1] ?? '',
    MESSAGE_V3: v[2] ?? '',
    MESSAGE_V4: v[3] ?? '',
    SYSTEM: 'SIMCLNT',
  }
}
