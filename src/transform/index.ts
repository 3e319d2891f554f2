/** Column model → typed Parquet files: row groups, file rolling, exact value conversion. */
export { ParquetRoller, COLUMNS_METADATA_KEY } from './roller.js'
export type { ParquetOutputOptions, WrittenFile } from './roller.js'
export { SUPPORTED_COMPRESSIONS, UnsupportedCompressionError } from './compression.js'
export type { Compression } from './compression.js'
export { describeSchema, parquetSchema, ParquetSchemaError } from './schema.js'
export type { ManifestColumn } from './schema.js'
export { ValueConversionError, decimalToUnscaled, unscaledToDecimal } from './convert.js'
