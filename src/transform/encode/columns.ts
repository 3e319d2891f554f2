/**
 * The column writer for each column kind. Values of the row group being filled are kept densely
 * (nulls only in the definition levels), in typed arrays where the kind allows, so a row group costs a
 * few bytes per value and no object per value (see numeric-columns.ts and byte-array-columns.ts).
 */
import type { SchemaElement } from 'hyparquet-writer'
import type { Column, Value } from '../../sap/fields.js'
import {
  dateToDays,
  parseDecimal,
  timeToMicros,
  timestampToMicros,
  timestampToMillis,
  toDouble,
  toGuid,
  toInt64,
  toSmallInt,
  toText,
} from '../convert.js'
import { BinaryColumn, StringColumn } from './byte-array-columns.js'
import type { ColumnWriter } from './column-writer.js'
import { BigIntColumn, BooleanColumn, FixedDecimalColumn, NumberColumn } from './numeric-columns.js'

const decimalNumber = (value: Value, column: Column): number => parseDecimal(value, column) as number

/** The writer for a column, given its Parquet schema element (schema.ts). */
export function createColumnWriter(column: Column, index: number, element: SchemaElement, maxRows: number): ColumnWriter {
  const type = column.type
  switch (type.kind) {
    case 'string':
      return new StringColumn(column, index, element, maxRows, toText)
    case 'guid':
      return new StringColumn(column, index, element, maxRows, toGuid)
    case 'decimal':
      // up to 15 digits parseDecimal returns an exact number; beyond, a bigint when needed
      if (type.precision <= 15) return new NumberColumn(column, index, element, maxRows, decimalNumber)
      if (type.precision <= 18) return new BigIntColumn(column, index, element, maxRows, parseDecimal)
      return new FixedDecimalColumn(column, index, element, maxRows)
    case 'int8':
    case 'uint8':
    case 'int16':
    case 'int32':
      return new NumberColumn(column, index, element, maxRows, toSmallInt)
    case 'int64':
      return new BigIntColumn(column, index, element, maxRows, toInt64)
    case 'double':
      return new NumberColumn(column, index, element, maxRows, toDouble)
    case 'boolean':
      return new BooleanColumn(column, index, element, maxRows)
    case 'date':
      return new NumberColumn(column, index, element, maxRows, dateToDays)
    case 'time':
      return new NumberColumn(column, index, element, maxRows, timeToMicros)
    case 'timestamp':
      // Milliseconds stay below 2^53 for every year SAP has; microseconds need 64-bit integers.
      return element.logical_type?.type === 'TIMESTAMP' && element.logical_type.unit === 'MICROS'
        ? new BigIntColumn(column, index, element, maxRows, timestampToMicros)
        : new NumberColumn(column, index, element, maxRows, timestampToMillis)
    case 'binary':
      return new BinaryColumn(column, index, element, maxRows)
  }
}
