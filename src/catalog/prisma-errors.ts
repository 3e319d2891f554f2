/** P2025: the record an update or delete named (by its unique key and any further filters) does not exist. */
export const isRecordNotFound = (e: unknown): boolean => !!e && typeof e === 'object' && (e as { code?: unknown }).code === 'P2025'

/** P2002 is Prisma's "unique constraint failed", the same code on SQLite and PostgreSQL. */
export function isUniqueViolation(e: unknown, field?: string): boolean {
  if (!(e && typeof e === 'object' && 'code' in e && (e as { code: unknown }).code === 'P2002')) return false
  if (!field) return true
  return JSON.stringify((e as { meta?: unknown }).meta ?? '').includes(field)
}
