/**
 * Waiting on something that cannot be cancelled itself (a shared metadata fetch, a stream read that
 * undici may leave pending, a native RFC call) while still answering an AbortSignal at once.
 */

/** The reason an aborted signal carries; a DOMException named AbortError when it carries none. */
export function abortReason(signal: AbortSignal): unknown {
  return signal.reason ?? new DOMException('This operation was aborted', 'AbortError')
}

/** Throws the signal's reason when it is aborted. */
export function throwIfAborted(signal?: AbortSignal): void {
  if (signal?.aborted) throw abortReason(signal)
}

/**
 * Settles with `p`, or rejects with the signal's reason as soon as it aborts, first calling
 * `onAbort` (which may cancel the work behind `p`; its own failure is ignored). The listener is
 * removed once `p` settles: racing many promises against one long-lived signal must not pile up a
 * listener, and what it holds, per promise. A `p` left behind by the abort may still reject later;
 * that rejection is swallowed.
 */
export function raceAbort<T>(p: Promise<T>, signal: AbortSignal | undefined, onAbort?: () => unknown): Promise<T> {
  if (!signal) return p
  return new Promise<T>((resolve, reject) => {
    const abort = () => {
      p.catch(() => undefined)
      try {
        Promise.resolve(onAbort?.()).catch(() => undefined)
      } catch {
        // a synchronous throw of onAbort changes nothing: the caller gets the abort reason
      }
      reject(abortReason(signal))
    }
    if (signal.aborted) return abort()
    signal.addEventListener('abort', abort, { once: true })
    p.then(
      (v) => {
        signal.removeEventListener('abort', abort)
        resolve(v)
      },
      (e: unknown) => {
        signal.removeEventListener('abort', abort)
        reject(e)
      },
    )
  })
}
