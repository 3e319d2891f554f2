/**
 * The `SourceRead` contract (src/sap/source.ts) for a read driven by an async generator: pages are
 * produced only when the consumer asks, `end()` resolves with the generator's return value once the
 * pages are exhausted and rejects if the read failed or was abandoned half-way.
 */
import type { Column, Row } from '../fields.js'
import { SourceError } from '../errors.js'
import type { SourcePage, SourceReadEnd } from '../source.js'

export interface LazyRead {
  columns: Column[]
  pages: AsyncIterable<SourcePage>
  end(): Promise<SourceReadEnd>
}

/**
 * @param run yields row batches and returns the read's end
 * @param onAbandon called once if the pages were not read to the end (failure or early return)
 */
export function lazyRead(columns: Column[], run: () => AsyncGenerator<Row[], SourceReadEnd>, onAbandon?: (error: unknown) => Promise<void>): LazyRead {
  let settle!: { resolve: (e: SourceReadEnd) => void; reject: (e: unknown) => void }
  const ended = new Promise<SourceReadEnd>((resolve, reject) => (settle = { resolve, reject }))
  // end() may never be called when the consumer failed first; do not crash the process over it.
  ended.catch(() => undefined)
  let started = false
  let settled = false
  const finish = (end: SourceReadEnd | undefined, error?: unknown) => {
    if (settled) return
    settled = true
    if (end) settle.resolve(end)
    else settle.reject(error)
  }
  async function* iterate(): AsyncGenerator<SourcePage> {
    if (started) throw new SourceError('SOURCE_BAD_REQUEST', 'the pages of a read can be iterated only once')
    started = true
    let failure: unknown = new DOMException('the read was closed before its last page', 'AbortError')
    const gen = run()
    try {
      for (;;) {
        const step = await gen.next()
        if (step.done) {
          finish(step.value)
          return
        }
        if (step.value.length > 0) yield { rows: step.value }
      }
    } catch (e) {
      failure = e
      throw e
    } finally {
      if (!settled) {
        // Let the generator's own finally blocks run (pooled connections go back).
        await gen.return(undefined as never).catch(() => undefined)
        finish(undefined, failure)
        if (onAbandon) await onAbandon(failure).catch(() => undefined)
      }
    }
  }
  return { columns, pages: { [Symbol.asyncIterator]: () => iterate() }, end: () => ended }
}
