import { randomUUID } from 'node:crypto'
import { hostname } from 'node:os'

/**
 * Who runs a run: host, process id and a random part, so a process can tell right away that a
 * RUNNING run belonged to a process of its own host that no longer exists (a crash before this
 * start), instead of waiting for the run's heartbeat to go stale. Runs of other hosts are judged by
 * their heartbeat alone.
 */
export function newWorkerId(): string {
  return `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`
}

export function isDeadLocalWorker(workerId: string | null, self: string): boolean {
  const [host, pid] = (workerId ?? '').split(':')
  if (!workerId || workerId === self || host !== hostname() || !/^\d+$/.test(pid)) return false
  // Our own pid under another id is a previous incarnation (a restarted container is often pid 1).
  if (Number(pid) === process.pid) return true
  try {
    process.kill(Number(pid), 0)
    return false
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'ESRCH'
  }
}
