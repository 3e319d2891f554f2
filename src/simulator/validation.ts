/**
 * Input schemas shared by the in-process admin object and the HTTP admin API, so a typo in a variant
 * or fault fails loudly instead of silently changing nothing.
 */
import { z } from 'zod'
import type { Fault, SimulatorVariants } from './types.js'

const variantsSchema = z
  .object({
    tokenPlacement: z.enum(['delta', 'terminal-next', 'absent']),
    tokenQuoted: z.boolean(),
    escapedDateSlashes: z.boolean(),
    emptyDeltaNewToken: z.boolean(),
    preferenceAppliedOnLastPage: z.boolean(),
    oldTokens: z.enum(['repeat', 'gone']),
    subscriptionConflict: z.enum(['replace', 'error']),
    updateImages: z.enum(['before-and-after', 'after-only']),
    insertsAsUpdates: z.boolean(),
    expiredTokenStatus: z.union([z.literal(410), z.literal(400)]),
    nextLinkCarriesDeltaToken: z.boolean(),
    faultEndsRead: z.boolean(),
  })
  .strict()
  .partial()

const faultSchema = z
  .object({
    kind: z.enum(['http-500', 'http-503', 'http-429', 'drop', 'slow', 'http-401']),
    page: z.number().int().min(1),
    read: z.enum(['full', 'init', 'delta', 'any']).optional(),
    entitySet: z.string().optional(),
    times: z.number().int().min(1).optional(),
    delayMs: z.number().int().min(0).optional(),
    retryAfterSeconds: z.number().int().min(0).optional(),
  })
  .strict()

const rowKeySchema = z.record(z.string(), z.string())
export const keysOrCountSchema = z.union([
  z.object({ keys: z.array(rowKeySchema) }).strict(),
  z.object({ count: z.number().int().min(0) }).strict(),
])

function describe(error: z.ZodError): string {
  return error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')
}

export function parseVariants(input: unknown): Partial<SimulatorVariants> {
  const r = variantsSchema.safeParse(input)
  if (!r.success) throw new Error(`invalid variants: ${describe(r.error)}`)
  return r.data
}

export function parseFault(input: unknown): Fault {
  const r = faultSchema.safeParse(input)
  if (!r.success) throw new Error(`invalid fault: ${describe(r.error)}`)
  return r.data
}

export function parseWith<T>(schema: z.ZodType<T>, input: unknown, what: string): T {
  const r = schema.safeParse(input)
  if (!r.success) throw new Error(`invalid ${what}: ${describe(r.error)}`)
  return r.data
}
