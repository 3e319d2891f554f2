import type { Role } from '../db/client.js'

export type { Role }

/** Each role includes everything the roles before it may do. */
export const ROLES = ['VIEWER', 'OPERATOR', 'ADMIN'] as const satisfies readonly Role[]

export const atLeast = (role: Role, minimum: Role): boolean => ROLES.indexOf(role) >= ROLES.indexOf(minimum)

/** `admin`, `Admin` or `ADMIN` (the command line takes lower case, GraphQL the enum). */
export function parseRole(text: string): Role | undefined {
  const upper = text.trim().toUpperCase()
  return (ROLES as readonly string[]).includes(upper) ? (upper as Role) : undefined
}

/** Who is calling: the token's id, name (the audit trail's actor) and role. Never the secret. */
export interface Principal {
  tokenId: string
  name: string
  role: Role
}
