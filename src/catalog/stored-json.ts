/**
 * JSON kept in database columns (settings, selections, pinned worlds, event data) is read through a
 * zod schema, once, by the module that owns the column. A row that does not fit (written by hand, by
 * an older version, or cut short) is reported as a {@link StoredRowError} naming the row and the
 * column, where it is read, instead of a TypeError somewhere further on.
 */
import { z } from 'zod'

/** The row a stored value belongs to; `id` is absent for a row about to be written. */
export interface RowRef {
  table: string
  id?: string
  name?: string
  /** How a user puts the row right, where the API can. */
  repair?: string
}

/**
 * A stored value that is not what its schema says. The message names the row, the column and what
 * is wrong (zod's paths and messages), never the value itself: a column may be sealed or sensitive.
 */
export class StoredRowError extends Error {
  override readonly name = 'StoredRowError'
  constructor(
    readonly row: RowRef,
    readonly column: string,
    readonly problem: string,
  ) {
    super(
      `${describeRow(row)}: its stored ${column} ${problem} (written by hand, or by another version?)${row.repair ? `; ${row.repair}` : ''}`,
    )
  }
}

/** Parses a column's JSON text with its schema. */
export function parseStored<S extends z.ZodType>(schema: S, row: RowRef, column: string, text: string): z.output<S> {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    // SyntaxError's message quotes the text: not repeated here.
    throw new StoredRowError(row, column, 'is not valid JSON')
  }
  return checkStored(schema, row, column, value)
}

/** Checks a value already decoded from a column (an opened secret) with its schema. */
export function checkStored<S extends z.ZodType>(schema: S, row: RowRef, column: string, value: unknown): z.output<S> {
  const r = schema.safeParse(value)
  if (r.success) return r.data
  const issues = r.error.issues.slice(0, 3).map((i) => (i.path.length ? `${i.path.map(String).join('.')}: ${i.message}` : i.message))
  throw new StoredRowError(row, column, `does not fit (${issues.join('; ')})`)
}

function describeRow({ table, id, name }: RowRef): string {
  return [table, id, name === undefined ? undefined : `"${name}"`].filter(Boolean).join(' ')
}

/** An optional member of a stored object: absent, or null as a hand-written row may have it, reads as undefined. */
export const optional = <T extends z.ZodType>(s: T) =>
  s
    .nullish()
    .transform((v) => v ?? undefined)
    .optional()

/** A URL our own code parses again (bindings, endpoints): a stored one must parse. */
export const storedUrl = z.string().refine((v) => URL.canParse(v), 'is not a URL')

/** Type-level proof that a stored schema produces exactly the type the rest of the code uses: same keys, same values. */
export type SameShape<A, B> = [A, keyof A] extends [B, keyof B] ? ([B, keyof B] extends [A, keyof A] ? true : false) : false
