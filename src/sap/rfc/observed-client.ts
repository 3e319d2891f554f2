import type { SapRequestObserver } from '../request-observer.js'
import type { RfcClient, RfcClientFactory } from './rfc-client.js'

/** The driver's factory with every function-module call timed and reported (logons are not calls). */
export function observedClientFactory(factory: RfcClientFactory, observe: SapRequestObserver): RfcClientFactory {
  return (params) => new ObservedRfcClient(factory(params), observe)
}

class ObservedRfcClient implements RfcClient {
  constructor(
    readonly inner: RfcClient,
    readonly observe: SapRequestObserver,
  ) {}

  get alive(): boolean {
    return this.inner.alive
  }

  get id(): number {
    return this.inner.id
  }

  async open(): Promise<RfcClient> {
    await this.inner.open()
    return this
  }

  close(): Promise<void> {
    return this.inner.close()
  }

  ping(): Promise<boolean> {
    return this.inner.ping()
  }

  async call(fm: string, params: Record<string, unknown>, options?: { timeout?: number }): Promise<Record<string, unknown>> {
    const started = performance.now()
    let failed = true
    try {
      const result = await this.inner.call(fm, params, options)
      failed = false
      return result
    } finally {
      this.observe((performance.now() - started) / 1000, failed)
    }
  }

  cancel(): Promise<void> {
    return this.inner.cancel()
  }
}
