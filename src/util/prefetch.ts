/**
 * Asks for up to `ahead` items of an async iterable before the consumer needs them, so the next
 * page downloads while the current one is being encoded. An item is requested only once the one
 * before it has arrived, so at most `ahead` items wait in memory besides the one being consumed.
 * An error of the source surfaces at the consumer's next read; the consumer stopping early stops
 * the source.
 */
export async function* prefetch<T>(source: AsyncIterable<T>, ahead: number): AsyncGenerator<T> {
  const it = source[Symbol.asyncIterator]()
  const pending: Array<Promise<IteratorResult<T>>> = []
  let exhausted = false
  const request = () => {
    const p = it.next()
    // Keep an early rejection from counting as unhandled; it is re-thrown when awaited below.
    p.then(
      (r) => r.done && (exhausted = true),
      () => (exhausted = true),
    )
    pending.push(p)
  }
  try {
    for (;;) {
      if (!pending.length) request()
      const r = await pending.shift()!
      if (r.done) return
      while (!exhausted && pending.length < ahead) request()
      yield r.value
    }
  } finally {
    if (!exhausted) await it.return?.()
  }
}
