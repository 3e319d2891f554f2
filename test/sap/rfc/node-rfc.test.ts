/** node-rfc is optional: a machine without SAP's NW RFC SDK gets SOURCE_DRIVER_MISSING, nothing worse. */
import { describe, expect, it } from 'vitest'
import { SourceError } from '../../../src/sap/errors.js'
import { createRfcSource } from '../../../src/sap/rfc/index.js'
import { DRIVER_INSTALL_HINT, loadNodeRfc } from '../../../src/sap/rfc/node-rfc.js'

async function driverError(p: Promise<unknown>): Promise<SourceError> {
  try {
    await p
  } catch (e) {
    expect(e).toBeInstanceOf(SourceError)
    return e as SourceError
  }
  throw new Error('expected a SourceError')
}

const SPEC = { kind: 'TABLE_RFC' as const, table: 'VBAP', pageSize: 100, subscriber: 'p1' }

/** Whether node-rfc really loads here (it needs SAP's NW RFC SDK): decides which expectations apply. */
const NODE_RFC = 'node-rfc'
const nodeRfcLoads = await import(NODE_RFC).then(
  () => true,
  () => false,
)

describe('loadNodeRfc', () => {
  it.skipIf(nodeRfcLoads)(
    'the node-rfc in node_modules (no SDK on this machine) fails with SOURCE_DRIVER_MISSING naming the SDK',
    async () => {
      const e = await driverError(loadNodeRfc())
      expect(e.code).toBe('SOURCE_DRIVER_MISSING')
      expect(e.retryable).toBe(false)
      expect(e.message).toMatch(/node-rfc/)
      expect(e.message).toMatch(/NW RFC SDK/)
      expect(e.message).toMatch(/libsapnwrfc|never built|not installed/)
      expect(e.message).toMatch(/ODP over OData connections need neither/)
      // cached: the same answer without a second import
      expect(await driverError(loadNodeRfc())).toBe(e)
    },
  )

  it('tells a missing package from a binding that cannot load', async () => {
    const missing = Object.assign(new Error("Cannot find package 'node-rfc' imported from /x/y.js"), { code: 'ERR_MODULE_NOT_FOUND' })
    expect((await driverError(loadNodeRfc(() => Promise.reject(missing)))).message).toMatch(/^the npm package node-rfc is not installed\. /)
    const unbuilt = new Error('No native build was found for platform=linux arch=x64 runtime=node abi=115 napi=8')
    expect((await driverError(loadNodeRfc(() => Promise.reject(unbuilt)))).message).toMatch(/never built against SAP's NW RFC SDK/)
    const dlopen = Object.assign(new Error('libsapnwrfc.so: cannot open shared object file: No such file or directory\nenvironment: {…}'), {
      code: 'ERR_DLOPEN_FAILED',
    })
    const e = await driverError(loadNodeRfc(() => Promise.reject(dlopen)))
    expect(e.message).toContain("cannot load SAP's NW RFC SDK (libsapnwrfc.so: cannot open shared object file: No such file or directory)")
    expect(e.message).not.toContain('environment')
    expect(e.message.endsWith(DRIVER_INSTALL_HINT)).toBe(true)
  })

  it('wraps node-rfc 3.x Client when it loads', async () => {
    const seen: unknown[] = []
    class Client {
      alive = false
      id = 7
      config: unknown
      constructor(params: unknown, options: unknown) {
        seen.push(params, options)
        this.config = params
      }
      async open() {
        this.alive = true
        return this
      }
      async close() {
        this.alive = false
      }
      async ping() {
        return true
      }
      async cancel() {}
      async call(fm: string, params: Record<string, unknown>, options?: unknown) {
        return { fm, params, options }
      }
    }
    const factory = await loadNodeRfc(async () => ({ default: { Client } }))
    const c = factory({ client: '100', ashost: 'h', user: 'U', passwd: 'secret', lang: '' })
    expect(seen[0]).toEqual({ client: '100', ashost: 'h', user: 'U', passwd: 'secret' })
    expect(seen[1]).toMatchObject({ bcd: 'string' })
    expect(await c.open()).toBe(c)
    expect(c.alive).toBe(true)
    expect(await c.call('RFC_PING', {}, { timeout: 5 })).toEqual({ fm: 'RFC_PING', params: {}, options: { timeout: 5 } })
    expect(JSON.stringify(c)).not.toContain('secret')
  })

  it.runIf(nodeRfcLoads)('with the SDK installed, the real node-rfc loads into a client factory', async () => {
    const factory = await loadNodeRfc()
    expect(typeof factory).toBe('function')
    expect(factory({ client: '100', ashost: 'sap', user: 'U', passwd: 'pw' }).alive).toBe(false)
  })

  it.skipIf(nodeRfcLoads)('an RFC source without clientFactory fails ping and read with SOURCE_DRIVER_MISSING', async () => {
    const source = createRfcSource({ client: '100', ashost: 'sap', user: 'U', passwd: 'pw' })
    const signal = new AbortController().signal
    expect((await driverError(source.ping(signal))).code).toBe('SOURCE_DRIVER_MISSING')
    expect((await driverError(source.read({ spec: SPEC, mode: 'FULL', signal }))).code).toBe('SOURCE_DRIVER_MISSING')
    await source.close()
  })
})
