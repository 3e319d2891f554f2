import { describe, expect, it } from 'vitest'
import type { Column } from '../../src/sap/fields.js'
import { ParquetSchemaError, describeSchema, parquetSchema } from '../../src/transform/index.js'
import { decimalByteLength } from '../../src/transform/schema.js'
import { col } from './helpers.js'

describe('describeSchema', () => {
  it('describes every column kind for the manifest', () => {
    const columns: Column[] = [
      col('VBELN', { kind: 'string', maxLength: 10 }, false, { key: true, sourceType: 'CHAR(10)' }),
      col('NETWR', { kind: 'decimal', precision: 15, scale: 2 }, true, { sourceType: 'CURR', unit: 'WAERK' }),
      col('KBETR', { kind: 'decimal', precision: 9, scale: 2 }),
      col('BIG', { kind: 'decimal', precision: 31, scale: 14 }),
      col('I8', { kind: 'int8' }),
      col('U8', { kind: 'uint8' }),
      col('I16', { kind: 'int16' }),
      col('I32', { kind: 'int32' }),
      col('I64', { kind: 'int64' }),
      col('F', { kind: 'double' }),
      col('B', { kind: 'boolean' }),
      col('ERDAT', { kind: 'date' }),
      col('ERZET', { kind: 'time' }),
      col('TS', { kind: 'timestamp' }),
      col('RAW', { kind: 'binary' }),
      col('G', { kind: 'guid' }),
      col('ODQ_CHANGEMODE', { kind: 'string', maxLength: 1 }, false, { semantics: 'change-mode' }),
      col('WAERK', { kind: 'string' }, false, { semantics: 'currency-code' }),
    ]
    expect(describeSchema(columns)).toEqual([
      {
        name: 'VBELN',
        parquetType: 'BYTE_ARRAY',
        logicalType: 'STRING',
        nullable: false,
        key: true,
        kind: 'string',
        sourceType: 'CHAR(10)',
      },
      {
        name: 'NETWR',
        parquetType: 'INT64',
        logicalType: 'DECIMAL',
        precision: 15,
        scale: 2,
        nullable: true,
        key: false,
        kind: 'decimal',
        sourceType: 'CURR',
      },
      { name: 'KBETR', parquetType: 'INT32', logicalType: 'DECIMAL', precision: 9, scale: 2, nullable: true, key: false, kind: 'decimal' },
      {
        name: 'BIG',
        parquetType: 'FIXED_LEN_BYTE_ARRAY',
        logicalType: 'DECIMAL',
        precision: 31,
        scale: 14,
        typeLength: 13,
        nullable: true,
        key: false,
        kind: 'decimal',
      },
      { name: 'I8', parquetType: 'INT32', logicalType: 'INTEGER(8,signed)', nullable: true, key: false, kind: 'int8' },
      { name: 'U8', parquetType: 'INT32', logicalType: 'INTEGER(8,unsigned)', nullable: true, key: false, kind: 'uint8' },
      { name: 'I16', parquetType: 'INT32', logicalType: 'INTEGER(16,signed)', nullable: true, key: false, kind: 'int16' },
      { name: 'I32', parquetType: 'INT32', logicalType: 'INTEGER(32,signed)', nullable: true, key: false, kind: 'int32' },
      { name: 'I64', parquetType: 'INT64', logicalType: 'INTEGER(64,signed)', nullable: true, key: false, kind: 'int64' },
      { name: 'F', parquetType: 'DOUBLE', nullable: true, key: false, kind: 'double' },
      { name: 'B', parquetType: 'BOOLEAN', nullable: true, key: false, kind: 'boolean' },
      { name: 'ERDAT', parquetType: 'INT32', logicalType: 'DATE', nullable: true, key: false, kind: 'date' },
      { name: 'ERZET', parquetType: 'INT64', logicalType: 'TIME(MICROS,local)', nullable: true, key: false, kind: 'time' },
      { name: 'TS', parquetType: 'INT64', logicalType: 'TIMESTAMP(MILLIS,UTC)', nullable: true, key: false, kind: 'timestamp' },
      { name: 'RAW', parquetType: 'BYTE_ARRAY', nullable: true, key: false, kind: 'binary' },
      { name: 'G', parquetType: 'BYTE_ARRAY', logicalType: 'STRING', nullable: true, key: false, kind: 'guid' },
      {
        name: 'ODQ_CHANGEMODE',
        parquetType: 'BYTE_ARRAY',
        logicalType: 'STRING',
        nullable: false,
        key: false,
        kind: 'string',
        semantics: 'change-mode',
      },
      {
        name: 'WAERK',
        parquetType: 'BYTE_ARRAY',
        logicalType: 'STRING',
        nullable: false,
        key: false,
        kind: 'string',
        semantics: 'currency-code',
      },
    ])
    // JSON-able as is
    expect(JSON.parse(JSON.stringify(describeSchema(columns)))).toEqual(describeSchema(columns))
  })

  it('picks INT32 up to 9 digits, INT64 up to 18, the narrowest FIXED_LEN_BYTE_ARRAY beyond', () => {
    const physical = (precision: number) => describeSchema([col('D', { kind: 'decimal', precision, scale: 0 })])[0]
    expect(physical(1).parquetType).toBe('INT32')
    expect(physical(9).parquetType).toBe('INT32')
    expect(physical(10).parquetType).toBe('INT64')
    expect(physical(18).parquetType).toBe('INT64')
    expect(physical(19)).toMatchObject({ parquetType: 'FIXED_LEN_BYTE_ARRAY', typeLength: 9 })
    expect(physical(38)).toMatchObject({ parquetType: 'FIXED_LEN_BYTE_ARRAY', typeLength: 16 })
    // the width holds 10^p - 1 in two's complement, and one byte less would not
    for (let p = 1; p <= 38; p++) {
      const n = decimalByteLength(p)
      expect(2n ** BigInt(8 * n - 1) - 1n >= 10n ** BigInt(p) - 1n).toBe(true)
      if (n > 1) expect(2n ** BigInt(8 * (n - 1) - 1) - 1n < 10n ** BigInt(p) - 1n).toBe(true)
    }
  })
})

describe('parquetSchema', () => {
  it('marks nullable columns OPTIONAL and the others REQUIRED', () => {
    const schema = parquetSchema([col('A', { kind: 'string' }, true), col('B', { kind: 'date' }, false)])
    expect(schema.map((e) => [e.name, e.repetition_type])).toEqual([
      ['root', undefined],
      ['A', 'OPTIONAL'],
      ['B', 'REQUIRED'],
    ])
  })

  it('refuses what cannot be written', () => {
    expect(() => parquetSchema([])).toThrow(ParquetSchemaError)
    expect(() => parquetSchema([col('A', { kind: 'date' }), col('A', { kind: 'string' })])).toThrow('duplicate column name A')
    expect(() => parquetSchema([col('D', { kind: 'decimal', precision: 39, scale: 0 })])).toThrow(
      'column D: decimal precision 39 is outside 1 … 38',
    )
    expect(() => parquetSchema([col('D', { kind: 'decimal', precision: 5, scale: 6 })])).toThrow(
      'column D: decimal scale 6 is outside 0 … precision 5',
    )
    expect(() => parquetSchema([col('D', { kind: 'decimal', precision: 0, scale: 0 })])).toThrow(ParquetSchemaError)
    expect(() => parquetSchema([col('', { kind: 'string' })])).toThrow('empty name')
  })
})

describe('parquetSchema with field ids', () => {
  const columns = [col('VBELN', { kind: 'string' }, false), col('NETWR', { kind: 'decimal', precision: 15, scale: 2 })]

  it('puts one field id on each leaf (Iceberg data files) and none without them', () => {
    expect(parquetSchema(columns, [7, 9]).map((e) => e.field_id)).toEqual([undefined, 7, 9])
    expect(parquetSchema(columns).map((e) => e.field_id)).toEqual([undefined, undefined, undefined])
  })

  it('refuses a list of the wrong length or an id that is not a positive integer', () => {
    expect(() => parquetSchema(columns, [1])).toThrow(ParquetSchemaError)
    expect(() => parquetSchema(columns, [1, 0])).toThrow(/NETWR: field id 0/)
  })
})
