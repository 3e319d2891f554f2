import type { AppServices } from '../context.js'
import type { Problem } from './problem.js'

export type Kind = 'connection' | 'destination' | 'pipeline' | 'run'

/**
 * The id of the object a path segment names: its id, its number (the original service's small
 * integers) or its unique name, tried in that order, so `/pipelines/5` is number 5 even when some
 * other pipeline is named "5" (that one is reached by its id). Runs have ids only. A read, not a
 * rule: what may be done with the object is decided by the GraphQL operation that follows.
 */
export type Resolved = { ok: true; id: string } | { ok: false; problem: Problem }

export async function resolveRef(app: AppServices, kind: Kind, ref: string): Promise<Resolved> {
  const number = /^[1-9]\d{0,9}$/.test(ref) ? Number(ref) : undefined
  const where = kind === 'run' ? [{ id: ref }] : [{ id: ref }, ...(number === undefined ? [] : [{ number }]), { name: ref }]
  for (const w of where) {
    const found = await findId(app, kind, w)
    if (found) return { ok: true, id: found }
  }
  return { ok: false, problem: { status: 404, code: 'NOT_FOUND', detail: `${kind} ${ref} does not exist` } }
}

async function findId(
  app: AppServices,
  kind: Kind,
  where: { id: string } | { number: number } | { name: string },
): Promise<string | undefined> {
  const select = { id: true } as const
  switch (kind) {
    case 'connection':
      return (await app.db.connection.findFirst({ where, select }))?.id
    case 'destination':
      return (await app.db.destination.findFirst({ where, select }))?.id
    case 'pipeline':
      return (await app.db.pipeline.findFirst({ where, select }))?.id
    case 'run':
      return 'id' in where ? (await app.db.run.findUnique({ where, select }))?.id : undefined
  }
}
