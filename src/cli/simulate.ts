import type { Config } from '../config.js'
import { SALES_ITEMS, startSapSimulator } from '../simulator/index.js'

/** Runs the SAP simulator in the foreground until Ctrl-C. */
export async function simulate(
  config: Config,
  opts: { port: number; rows: number; latencyMs: number; rowsPerSecondPerRead: number },
): Promise<number> {
  const sim = await startSapSimulator({
    host: config.HOST,
    port: opts.port,
    rows: { [SALES_ITEMS]: opts.rows },
    latencyMs: opts.latencyMs,
    rowsPerSecondPerRead: opts.rowsPerSecondPerRead,
  })
  console.log(`SAP ODP OData simulator
  service:  ${sim.serviceUrl}   (user DEMO, password Welcome1!, sap-client 100)
  metadata: ${sim.serviceUrl}/$metadata
  admin:    ${sim.url}/sim/admin/…   e.g. curl -X POST -d '{"count":10}' ${sim.url}/sim/admin/entity-sets/${SALES_ITEMS}/insert
Ctrl-C stops it.`)
  await new Promise<void>((resolve) => {
    process.once('SIGINT', () => resolve())
    process.once('SIGTERM', () => resolve())
  })
  await sim.close()
  return 0
}
