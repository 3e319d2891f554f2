/**
 * Reads up to `ahead` items of an async iterable before the consumer asks for them, so the next
 * page downloads while the current one is being encoded. Memory grows by at most `ahead` items.
 * An error of the source surfaces at the consumer's next read; the consumer stopping early stops
 * the source.
 */
export async function* prefetch<T>(source: AsyncIterable<T>, ahead: number): AsyncGenerator<T> {
  const it = source[Symbol.asyncIterator]()
  const pending: Array<Promise<IteratorResult<T>>> = []
  let exhausted = false
  const fill = () => {
    while (!exhausted && pending.length < ahead + 1) {
      const p = it.next()
      pending.push(p)
      // Keep an early rejection from counting as unhandled; it is re-thrown when awaited below.
      p.then((r) => r.done && (exhausted = true), () => (exhausted = true))
    }
  }
  try {
    for (;;) {
      fill()
      const r = await pending.shift()!
      if (r.done) return
      yield r.value
    }
  } finally {
    if (!exhausted) await it.return?.()
  }
}
