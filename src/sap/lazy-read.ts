/**
 * The read contract of every SAP source (`SourceRead`, src/sap/source.ts), written once: pages are
 * produced only when the consumer asks for the next one (the next HTTP page or RFC call starts then,
 * never earlier), `end()` resolves with what the producer returned once the last page was taken and
 * rejects if the read failed or was abandoned half-way, and the pages can be iterated once.
 */
import type { Column } from './fields.js'
import { SourceError } from './errors.js'
import type { SourcePage, SourceReadEnd } from './source.js'

export interface LazyRead<P = SourcePage, E = SourceReadEnd> {
  columns: Column[]
  pages: AsyncIterable<P>
  end(): Promise<E>
}

export interface LazyReadOptions<P, E> {
  columns: Column[]
  /** Yields the pages and returns the read's end; its finally blocks run however the read stops. */
  produce: () => AsyncGenerator<P, E>
  /** Called once, after the producer has stopped, when the pages were not read to the end. */
  onAbandon?: (error: unknown) => Promise<void>
}

/** What `end()` rejects with when the consumer stopped taking pages before the last one. */
const closedEarly = (): DOMException => new DOMException('the read was closed before its last page', 'AbortError')

export function lazyRead<P = SourcePage, E = SourceReadEnd>(opts: LazyReadOptions<P, E>): LazyRead<P, E> {
  let resolve!: (end: E) => void
  let reject!: (error: unknown) => void
  const ended = new Promise<E>((res, rej) => ([resolve, reject] = [res, rej]))
  // end() may never be called when the consumer failed first; do not crash the process over it.
  ended.catch(() => undefined)
  let started = false
  let settled = false

  async function* iterate(): AsyncGenerator<P> {
    if (started) throw new SourceError('SOURCE_BAD_REQUEST', 'the pages of a read can be iterated only once')
    started = true
    let failure: unknown = closedEarly()
    const gen = opts.produce()
    try {
      for (;;) {
        const step = await gen.next()
        if (step.done) {
          settled = true
          resolve(step.value)
          return
        }
        yield step.value
      }
    } catch (e) {
      failure = e
      throw e
    } finally {
      if (!settled) {
        settled = true
        // Let the producer's own finally blocks run (pooled connections go back) before end() rejects.
        await gen.return(undefined as never).catch(() => undefined)
        reject(failure)
        if (opts.onAbandon) await opts.onAbandon(failure).catch(() => undefined)
      }
    }
  }
  return { columns: opts.columns, pages: { [Symbol.asyncIterator]: () => iterate() }, end: () => ended }
}

/**
 * The one runtime check of a page size (rows per OData page, RFC package or yielded batch), for
 * callers that bypass the catalogue's input validation (which also caps it). Throws before any call
 * to SAP.
 */
export function requirePageSize(name: 'pageSize' | 'batchRows', value: number): void {
  if (!Number.isSafeInteger(value) || value < 1)
    throw new SourceError('SOURCE_BAD_REQUEST', `${name} must be a positive integer, got ${String(value)}`)
}
