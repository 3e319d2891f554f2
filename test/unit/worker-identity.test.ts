import { spawnSync } from 'node:child_process'
import { hostname } from 'node:os'
import { expect, it } from 'vitest'
import { isDeadLocalWorker, newWorkerId } from '../../src/orchestrator/worker-identity.js'

it('tells a run of a dead process of this host from live and foreign ones', () => {
  const self = newWorkerId()
  expect(self).toMatch(new RegExp(`^${hostname()}:${process.pid}:[0-9a-f]{8}$`))
  const exited = spawnSync(process.execPath, ['-e', '0']).pid! // a process that has already exited
  expect(isDeadLocalWorker(`${hostname()}:${exited}:abcd1234`, self)).toBe(true)
  expect(isDeadLocalWorker(`${hostname()}:${process.pid}:0000ffff`, self)).toBe(true) // our pid, an earlier incarnation
  expect(isDeadLocalWorker(self, self)).toBe(false)
  expect(isDeadLocalWorker(`${hostname()}:${process.ppid}:abcd1234`, self)).toBe(false) // alive
  expect(isDeadLocalWorker(`another-host:${exited}:abcd1234`, self)).toBe(false) // judged by heartbeat only
  expect(isDeadLocalWorker(null, self)).toBe(false)
  expect(isDeadLocalWorker('12345-abcdef', self)).toBe(false) // an id of the older format
})
