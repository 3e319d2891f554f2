/**
 * The source stage alone: the OData client reads every page (HTTP, JSON.parse, typed values) and
 * the rows are dropped. Reports wall time, rows and the JSON bytes received.
 *   args: <serviceUrl> <pageSize>
 */
import { ODataOdpClient } from '../../src/sap/odata/index.js'
import { SALES_ITEMS } from '../../src/simulator/index.js'
import { peakRssMiB, report } from '../lib.js'

const [serviceUrl, pageSize] = process.argv.slice(2)
const client = new ODataOdpClient({ serviceUrl, sapClient: '100', user: 'DEMO', password: 'Welcome1!' })
const started = performance.now()
const read = await client.read({ entitySet: SALES_ITEMS, mode: 'FULL', pageSize: Number(pageSize) })
let rows = 0
for await (const page of read.pages) rows += page.rows.length
await read.end()
report({ seconds: (performance.now() - started) / 1000, rows, peakRssMiB: peakRssMiB() })
