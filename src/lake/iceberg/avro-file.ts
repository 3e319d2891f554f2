/**
 * Avro object container files in memory, with avsc: manifests and manifest lists are small (one line
 * per data file), so they are built as a Buffer and stored as one object.
 */
import avro from 'avsc'
import { LakeTableError } from './errors.js'

/**
 * Encodes `records` as one Avro object container file. The schema object is written to the header as
 * given, so Iceberg's `field-id` attributes reach readers; the header is written even for no records
 * (avsc's default writes none then, which no reader could open). Metadata values are strings.
 */
export async function encodeAvroFile(schema: object, records: readonly object[], metadata: Record<string, string>): Promise<Buffer> {
  const meta = Object.fromEntries(Object.entries(metadata).map(([k, v]) => [k, Buffer.from(v, 'utf8')]))
  const options = { codec: 'null', writeHeader: true, metadata: meta }
  const encoder = new avro.streams.BlockEncoder(schema as avro.Schema, options as Partial<avro.EncoderOptions>)
  const chunks: Buffer[] = []
  const done = new Promise<Buffer>((resolve, reject) => {
    encoder.on('data', (c: Buffer) => chunks.push(c))
    encoder.on('end', () => resolve(Buffer.concat(chunks)))
    encoder.on('error', (e: Error) =>
      reject(new LakeTableError('LAKE_INPUT', `an Avro record does not fit its schema: ${e.message}`, { cause: e })),
    )
  })
  for (const r of records) encoder.write(r)
  encoder.end()
  return done
}

/** Decodes an Avro object container file: its records and its key/value metadata as strings. */
export async function decodeAvroFile(
  bytes: Buffer,
  what: string,
): Promise<{ records: Record<string, unknown>[]; metadata: Record<string, string> }> {
  const decoder = new avro.streams.BlockDecoder()
  const records: Record<string, unknown>[] = []
  let metadata: Record<string, string> = {}
  return new Promise((resolve, reject) => {
    decoder.on('metadata', (_type: unknown, _codec: unknown, header: { meta: Record<string, Buffer> }) => {
      metadata = Object.fromEntries(Object.entries(header.meta).map(([k, v]) => [k, v.toString('utf8')]))
    })
    decoder.on('data', (r: Record<string, unknown>) => records.push(r))
    decoder.on('end', () => resolve({ records, metadata }))
    decoder.on('error', (e: Error) =>
      reject(new LakeTableError('LAKE_TABLE_INVALID', `${what} is not a readable Avro file: ${e.message}`, { cause: e })),
    )
    decoder.end(bytes)
  })
}
