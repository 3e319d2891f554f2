/**
 * Page compression codecs. SNAPPY is our pure-JS compressor (encode/snappy.ts); GZIP is Node's
 * zlib. ZSTD needs a compressor this runtime does not have (Node 20's zlib has none; `zlib.zstdCompressSync`
 * arrives in Node 22.15): it is offered only where that function exists, so SUPPORTED_COMPRESSIONS
 * never lists a codec that would fail.
 */
import zlib from 'node:zlib'
import { snappyCompress } from './encode/snappy.js'

export type Compression = 'SNAPPY' | 'GZIP' | 'ZSTD' | 'UNCOMPRESSED'

type Compressor = (input: Uint8Array) => Uint8Array

interface ZstdZlib {
  zstdCompressSync?: (buf: Uint8Array, options?: { params?: Record<number, number> }) => Buffer
  constants: Record<string, number>
}

function zstdCompressor(): Compressor | undefined {
  const z = zlib as unknown as ZstdZlib
  const compress = z.zstdCompressSync
  if (typeof compress !== 'function') return undefined
  const levelParam = z.constants.ZSTD_c_compressionLevel
  const params = levelParam === undefined ? undefined : { [levelParam]: 3 }
  return (input) => compress(input, params ? { params } : undefined)
}

const gzip: Compressor = (input) => zlib.gzipSync(input, { level: 6 })
const zstd = zstdCompressor()

/** Codecs that work in this process, in order of preference. */
export const SUPPORTED_COMPRESSIONS: readonly Compression[] = Object.freeze(
  zstd ? (['SNAPPY', 'ZSTD', 'GZIP', 'UNCOMPRESSED'] as const) : (['SNAPPY', 'GZIP', 'UNCOMPRESSED'] as const),
)

export class UnsupportedCompressionError extends Error {
  override readonly name = 'UnsupportedCompressionError'
  readonly code = 'UNSUPPORTED_COMPRESSION' as const
  readonly retryable = false
}

/** A codec as the encoder uses it: the footer name and a page compressor. */
export interface Codec {
  name: Compression
  compress(page: Uint8Array): Uint8Array
}

/** The page compressor for a codec; throws UnsupportedCompressionError for one this process lacks. */
export function codecFor(compression: Compression): Codec {
  if (!SUPPORTED_COMPRESSIONS.includes(compression)) {
    throw new UnsupportedCompressionError(
      `compression ${JSON.stringify(compression)} is not available here (supported: ${SUPPORTED_COMPRESSIONS.join(', ')})`,
    )
  }
  switch (compression) {
    case 'SNAPPY':
      return { name: compression, compress: snappyCompress }
    case 'GZIP':
      return { name: compression, compress: gzip }
    case 'ZSTD':
      return { name: compression, compress: zstd as Compressor }
    case 'UNCOMPRESSED':
      return { name: compression, compress: (page) => page }
  }
}
