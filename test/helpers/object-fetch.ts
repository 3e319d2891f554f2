/**
 * icebird fetches every object by URL with the global fetch. Node's fetch has no `file:` scheme, and
 * icebird turns `s3://bucket/key` into AWS's own host, which a test's s3rver is not: the reader is
 * given a fetch that answers such URLs from the place the objects really are (whole objects and
 * `Range: bytes=a-b`, as hyparquet asks) and passes every other URL to the real fetch. Only
 * transport: icebird itself runs unchanged.
 */
import { readFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import type { S3rverEmulator } from './s3rver.js'

/** The bytes of the object at `url`, null when it does not exist, undefined when the URL is not this reader's. */
export type ObjectReader = (url: string) => Promise<Uint8Array | null> | undefined

export const fileObjects: ObjectReader = (url) => {
  if (!url.startsWith('file:')) return undefined
  return readFile(fileURLToPath(url)).then(
    (b) => new Uint8Array(b),
    () => null,
  )
}

/** `https://<bucket>.s3.amazonaws.com/<key>` (icebird's form of `s3://<bucket>/<key>`) from s3rver. */
export const s3rverObjects =
  (s3: S3rverEmulator): ObjectReader =>
  (url) => {
    const m = /^https:\/\/([^./]+)\.s3\.amazonaws\.com\/(.+)$/.exec(url)
    if (!m) return undefined
    return s3.download(m[1], decodeURIComponent(m[2])).then(
      (b) => new Uint8Array(b),
      () => null,
    )
  }

/** Installs the fetch; returns the function that puts the real one back. */
export function withObjectFetch(...readers: ObjectReader[]): () => void {
  const real = globalThis.fetch
  globalThis.fetch = async (input: string | URL | Request, init?: RequestInit) => {
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url
    const pending = readers.map((r) => r(url)).find((p) => p !== undefined)
    if (!pending) return real(input, init)
    const found = await pending
    if (!found) return new Response(null, { status: 404 })
    const bytes = new Uint8Array(found)
    const range = /^bytes=(\d+)-(\d*)$/.exec(new Headers(init?.headers).get('Range') ?? '')
    if (!range) return new Response(init?.method === 'HEAD' ? null : bytes, { headers: { 'content-length': String(bytes.length) } })
    const start = Number(range[1])
    const end = range[2] ? Number(range[2]) + 1 : bytes.length
    return new Response(bytes.subarray(start, end), { status: 206 })
  }
  return () => {
    globalThis.fetch = real
  }
}
