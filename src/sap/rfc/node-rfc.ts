/**
 * Loading node-rfc lazily (docs/sap-protocols.md §D). node-rfc is an optionalDependency: it needs SAP's
 * proprietary NW RFC SDK (libsapnwrfc.so, sapnwrfc.h), which npm cannot fetch, so on most machines
 * the package is missing or its native binding cannot load. The service must install and run without
 * it; only an RFC connection's ping or run fails, with SOURCE_DRIVER_MISSING saying what to install.
 */
import { SourceError } from '../errors.js'
import type { RfcClient, RfcClientFactory, RfcConnectionParameters } from './rfc-client.js'

/** The part of node-rfc's `Client` (v3) we use; declared here so type-checking needs no node-rfc. */
interface NodeRfcClient {
  readonly alive: boolean
  readonly id: number
  open(): Promise<unknown>
  close(): Promise<void>
  ping(): Promise<boolean>
  cancel(): Promise<void>
  call(rfm: string, params: Record<string, unknown>, options?: { timeout?: number }): Promise<Record<string, unknown>>
}

interface NodeRfcModule {
  Client: new (params: Record<string, string>, options?: Record<string, unknown>) => NodeRfcClient
}

export const DRIVER_INSTALL_HINT =
  'RFC connections need the npm package node-rfc (an optional dependency) built against SAP NW RFC SDK 7.50, which SAP distributes only through the SAP Support Portal (S-user required): ' +
  'download the SDK for your platform, unpack it (e.g. to /usr/local/sap/nwrfcsdk), set SAPNWRFC_HOME to that folder and add its lib folder to LD_LIBRARY_PATH (Linux) or PATH (Windows), then run `npm rebuild node-rfc` (or `npm install node-rfc@3.3.1`) and restart the service. ' +
  'ODP over OData connections need neither node-rfc nor the SDK.'

let cached: Promise<RfcClientFactory> | undefined

/**
 * The node-rfc client factory, loaded once. Rejects with SOURCE_DRIVER_MISSING when the package or
 * its native binding (the NW RFC SDK) is not there; the failure is cached too, because installing the
 * SDK needs a restart anyway.
 *
 * @param importer for tests: stands in for `import('node-rfc')` (the result is then not cached)
 */
export function loadNodeRfc(importer?: () => Promise<unknown>): Promise<RfcClientFactory> {
  if (importer) return load(importer)
  // A variable specifier: no bundler or type checker may insist that the optional package exists.
  const specifier = 'node-rfc'
  cached ??= load(() => import(specifier))
  return cached
}

async function load(importer: () => Promise<unknown>): Promise<RfcClientFactory> {
  let mod: unknown
  try {
    mod = await importer()
  } catch (e) {
    throw driverMissing(e)
  }
  const m = mod as Partial<NodeRfcModule> & { default?: Partial<NodeRfcModule> }
  const Client = m.Client ?? m.default?.Client
  if (typeof Client !== 'function') {
    throw new SourceError(
      'SOURCE_DRIVER_MISSING',
      `the installed node-rfc exports no Client class (expected node-rfc 3.x). ${DRIVER_INSTALL_HINT}`,
    )
  }
  return (params) => new NodeRfcAdapter(new Client(toNodeRfcParams(params), { bcd: 'string', stateless: false }))
}

/** What went wrong loading node-rfc, as one actionable message. The cause is kept for the log. */
function driverMissing(e: unknown): SourceError {
  const err = e as { code?: string; message?: string } | undefined
  const first = String(err?.message ?? e).split('\n')[0]
  const notInstalled =
    err?.code === 'ERR_MODULE_NOT_FOUND' || err?.code === 'MODULE_NOT_FOUND'
      ? /node-rfc/.test(first) && !/node-gyp-build|bluebird|decimal\.js|node-addon-api/.test(first)
      : false
  let what: string
  if (notInstalled) what = 'the npm package node-rfc is not installed'
  else if (/libsapnwrfc|sapnwrfc|ERR_DLOPEN_FAILED/i.test(first) || err?.code === 'ERR_DLOPEN_FAILED')
    what = `node-rfc is installed but its native binding cannot load SAP's NW RFC SDK (${first})`
  else if (/No native build was found|prebuild|\.node\b|gyp/i.test(first))
    what = `node-rfc is installed but was never built against SAP's NW RFC SDK (${first})`
  else what = `node-rfc could not be loaded (${first})`
  return new SourceError('SOURCE_DRIVER_MISSING', `${what}. ${DRIVER_INSTALL_HINT}`, { cause: e })
}

function toNodeRfcParams(p: RfcConnectionParameters): Record<string, string> {
  const out: Record<string, string> = {}
  for (const [k, v] of Object.entries(p)) if (typeof v === 'string' && v !== '') out[k] = v
  return out
}

/**
 * node-rfc's Client behind {@link RfcClient}. The wrapped client is kept in a private field so
 * logging the adapter cannot print connection parameters (node-rfc's Client keeps them in `config`).
 */
class NodeRfcAdapter implements RfcClient {
  readonly #c: NodeRfcClient

  constructor(c: NodeRfcClient) {
    this.#c = c
  }

  get alive(): boolean {
    return this.#c.alive
  }

  get id(): number {
    return this.#c.id
  }

  async open(): Promise<RfcClient> {
    await this.#c.open()
    return this
  }

  close(): Promise<void> {
    return this.#c.close()
  }

  ping(): Promise<boolean> {
    return this.#c.ping()
  }

  cancel(): Promise<void> {
    return this.#c.cancel()
  }

  call(functionModule: string, params: Record<string, unknown>, options?: { timeout?: number }): Promise<Record<string, unknown>> {
    return this.#c.call(functionModule, params, options?.timeout ? { timeout: options.timeout } : undefined)
  }

  toJSON(): Record<string, unknown> {
    return { id: this.id, alive: this.alive }
  }
}
