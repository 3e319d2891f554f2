import type { SapRequestObserver } from '../request-observer.js'

/**
 * `fetch` that reports each request's time until SAP's answer starts (status and headers: a Gateway
 * computes a page before it sends it) and whether it failed (network error, timeout, HTTP ≥ 400).
 * The body streams on afterwards and is not timed here.
 */
export function observedFetch(fetchFn: typeof fetch, observe: SapRequestObserver): typeof fetch {
  return async (input, init) => {
    const started = performance.now()
    try {
      const res = await fetchFn(input, init)
      observe((performance.now() - started) / 1000, res.status >= 400)
      return res
    } catch (e) {
      observe((performance.now() - started) / 1000, true)
      throw e
    }
  }
}
