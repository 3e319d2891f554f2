/**
 * icebird fetches every object by URL with the global fetch, and Node's fetch has no `file:` scheme.
 * A LOCAL destination's table records `file://` URIs (Destination.uriOf), so the reader is given a
 * fetch that answers `file://` URLs from disk (whole objects and `Range: bytes=a-b`, as hyparquet asks)
 * and passes every other URL to the real fetch. Only transport: icebird itself runs unchanged.
 */
import { readFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'

export function withFileFetch(): () => void {
  const real = globalThis.fetch
  globalThis.fetch = async (input: string | URL | Request, init?: RequestInit) => {
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url
    if (!url.startsWith('file:')) return real(input, init)
    let bytes: Uint8Array<ArrayBuffer>
    try {
      bytes = new Uint8Array(await readFile(fileURLToPath(url)))
    } catch {
      return new Response(null, { status: 404 })
    }
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
