// s3rver in its own process (see test/helpers/s3rver.ts): node s3rver-main.cjs <directory> <port>
// Prints "s3rver listening on <port>" once it accepts connections; SIGTERM ends it at once, cutting
// open connections the way a crashed or restarted service would.
'use strict'
const S3rver = require('s3rver')

const [directory, port] = process.argv.slice(2)
const server = new S3rver({ address: '127.0.0.1', port: Number(port), directory, silent: true, vhostBuckets: false })
server.run().then(
  (address) => console.log(`s3rver listening on ${address.port}`),
  (err) => {
    console.error(err)
    process.exit(1)
  },
)
process.on('SIGTERM', () => process.exit(0))
