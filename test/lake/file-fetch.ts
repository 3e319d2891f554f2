/**
 * icebird reads tables with fetch, and Node's fetch has no `file:` scheme: this lets a test read a
 * LOCAL table with icebird by answering `file:` URLs from disk (the whole file, status 200, which
 * hyparquet slices itself; 404 for a missing file). Other URLs go to the real fetch.
 */
import { readFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'

export function installFileFetch(): () => void {
  const real = globalThis.fetch
  globalThis.fetch = async (input: string | URL | Request, init?: RequestInit) => {
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url
    if (!url.startsWith('file:')) return real(input, init)
    try {
      return new Response(await readFile(fileURLToPath(url)), { status: 200 })
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return new Response(null, { status: 404, statusText: 'Not Found' })
      throw e
    }
  }
  return () => {
    globalThis.fetch = real
  }
}
