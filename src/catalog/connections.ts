import { z } from 'zod'
import type { Connection, Db, Prisma } from '../db/client.js'
import { lockCurrentKey, withCurrentKey } from '../db/current-key.js'
import type { SecretBox } from '../db/secrets.js'
import { badInput, conflict, notFound } from '../errors.js'
import type { SourceFactory } from '../orchestrator/sources.js'
import { SourceError } from '../sap/errors.js'
import type { Logger } from '../util/logger.js'
import {
  connectionSecretsOf,
  connectionSettingsOf,
  type ConnectionSecrets,
  type ConnectionSettings,
  type ODataSettings,
  type RfcSettings,
} from './connection-config.js'
import { nameSchema, optionalText, parseInput, serviceUrlSchema } from './validate.js'
import { lockUnheld } from './pipeline-hold.js'
import { isUniqueViolation } from './prisma-errors.js'
import { subscriptionKey } from './pipelines.js'
import { StoredRowError } from './stored-json.js'

export type Protocol = 'ODATA' | 'RFC'

export const odataConfigSchema = z.object({
  serviceUrl: serviceUrlSchema,
  sapClient: z
    .string()
    .trim()
    .regex(/^\d{3}$/, 'must be a three-digit SAP client, e.g. 100')
    .nullish()
    .transform((v) => v ?? undefined),
  user: optionalText(40),
  language: optionalText(2),
  password: z.string().max(256).nullish(),
})

export const rfcConfigSchema = z
  .object({
    ashost: optionalText(255),
    sysnr: z
      .string()
      .trim()
      .regex(/^\d{2}$/, 'must be a two-digit system number, e.g. 00')
      .nullish()
      .transform((v) => v ?? undefined),
    client: z
      .string()
      .trim()
      .regex(/^\d{3}$/, 'must be a three-digit SAP client, e.g. 100'),
    user: optionalText(40),
    passwd: z.string().max(256).nullish(),
    lang: optionalText(2),
    mshost: optionalText(255),
    msserv: optionalText(32),
    group: optionalText(64),
    sysid: optionalText(3),
    saprouter: optionalText(255),
  })
  .superRefine((c, ctx) => {
    if (!c.ashost && !c.mshost)
      ctx.addIssue({ code: 'custom', message: 'needs ashost (application server) or mshost (message server)', path: ['ashost'] })
    if (c.ashost && !c.sysnr) ctx.addIssue({ code: 'custom', message: 'is required with ashost', path: ['sysnr'] })
  })

/**
 * Where a connection's password goes: OData: the service URL's scheme, host and port (the password
 * travels in a Basic Authorization header to that origin); RFC: the application server (ashost,
 * sysnr), message server (mshost, msserv, sysid, group) and SAProuter string. Path, client, user
 * and language do not move it to another machine.
 */
function passwordBinding(s: ConnectionSettings): string {
  if (s.protocol === 'ODATA') return new URL(s.odata.serviceUrl).origin
  const keys = ['ashost', 'sysnr', 'mshost', 'msserv', 'sysid', 'group', 'saprouter'] as const
  const parts = keys.filter((k) => s.rfc[k]).map((k) => `${k}=${s.rfc[k]!.toLowerCase()}`)
  return parts.join(' ')
}

/**
 * Who SAP thinks is calling: the system, client and user behind a connection. SAP keeps delta
 * subscriptions per user (and service or subscriber process), so a change of any of these leaves a
 * DELTA pipeline's subscription behind. Password and language are not part of it.
 */
export function sapIdentity(s: ConnectionSettings): string {
  const norm = (v: unknown) =>
    String(v ?? '')
      .trim()
      .toLowerCase()
  if (s.protocol === 'ODATA') {
    const url = new URL(s.odata.serviceUrl)
    return ['ODATA', `${url.origin}${url.pathname.replace(/\/+$/, '')}`.toLowerCase(), norm(s.odata.sapClient), norm(s.odata.user)].join(
      '|',
    )
  }
  return ['RFC', passwordBinding(s), norm(s.rfc.client), norm(s.rfc.user)].join('|')
}

/**
 * A connection's SAP system, client or user may change only while none of its DELTA pipelines has a
 * run going or a subscription in SAP: the run would commit one identity's subscription under the
 * other, and the subscription would be left behind in SAP. Each pipeline's row is locked first (see
 * pipeline-hold.ts), so no run can start in between.
 */
async function refuseIdentityChange(tx: Prisma.TransactionClient, connectionId: string): Promise<void> {
  const pipelines = await tx.pipeline.findMany({ where: { connectionId, mode: 'DELTA' }, select: { id: true, name: true } })
  for (const { id, name } of pipelines) {
    if (!(await lockUnheld(tx, id))) throw conflict(`pipeline "${name}" is being reset or deleted; try again in a moment`)
    const p = await tx.pipeline.findUniqueOrThrow({
      where: { id },
      select: { subscribedAt: true, deltaState: { select: { pipelineId: true } } },
    })
    const active = await tx.run.findUnique({ where: { activeKey: id }, select: { id: true } })
    if (active || p.subscribedAt || p.deltaState)
      throw conflict(
        `changing the SAP system, client or user of this connection would ${active ? `change it under the active run ${active.id} of` : 'orphan the SAP delta subscription of'} pipeline "${name}"; ${active ? 'wait for the run to end, then ' : ''}call resetDelta on it first`,
        { field: 'config', pipelineId: id },
      )
  }
}

/**
 * How many runs of a connection may extract at once (architecture.md#claim); null = no limit. Up to
 * 64, as WORKER_CONCURRENCY and RFC_POOL_SIZE: SAP systems allot extraction a handful of work
 * processes, and 0 would hold every run of the connection queued for good.
 */
const maxConcurrentRunsSchema = z
  .number()
  .int('must be a whole number')
  .min(1, 'must be at least 1 (null: no limit)')
  .max(64, 'must be at most 64 (null: no limit)')
  .nullable()

const createSchema = z.object({
  name: nameSchema,
  maxConcurrentRuns: maxConcurrentRunsSchema.optional(),
  protocol: z.enum(['ODATA', 'RFC']),
  odataConfig: z.unknown().optional().nullable(),
  rfcConfig: z.unknown().optional().nullable(),
})

export interface CreateConnectionInput {
  name: string
  protocol: Protocol
  maxConcurrentRuns?: number | null
  odataConfig?: unknown
  rfcConfig?: unknown
}
export interface UpdateConnectionInput {
  name?: string | null
  /** Omitted: kept; null: no limit. */
  maxConcurrentRuns?: number | null
  odataConfig?: unknown
  rfcConfig?: unknown
}

/** The settings a connection was saved with, secrets decrypted: for the orchestrator only. */
export type ResolvedConnection =
  | { id: string; name: string; protocol: 'ODATA'; odata: ODataSettings; secrets: ConnectionSecrets }
  | { id: string; name: string; protocol: 'RFC'; rfc: RfcSettings; secrets: ConnectionSecrets }

/** Result of testConnection. */
export interface ConnectionTestResult {
  ok: boolean
  message: string | null
  code: string | null
  latencyMs: number | null
}

const TEST_TIMEOUT_MS = 30_000

export class ConnectionCatalog {
  constructor(
    private readonly db: Db,
    private readonly box: SecretBox,
    /** The SAP side, for testConnection. */
    private readonly sap: { sources: SourceFactory; log: Logger },
  ) {}

  async create(input: CreateConnectionInput): Promise<Connection> {
    const base = parseInput(createSchema, input)
    const { config, secret } = this.settingsFor(base.protocol, input, undefined)
    try {
      return await withCurrentKey(this.db, this.box, (tx) =>
        tx.connection.create({
          data: { name: base.name, protocol: base.protocol, maxConcurrentRuns: base.maxConcurrentRuns ?? null, config, secret },
        }),
      )
    } catch (e) {
      if (isUniqueViolation(e)) throw conflict(`a connection named "${base.name}" already exists`, { field: 'name' })
      throw e
    }
  }

  async update(id: string, input: UpdateConnectionInput): Promise<Connection> {
    const current = await this.get(id)
    const name = input.name == null ? current.name : parseInput(nameSchema, input.name, 'name')
    const maxConcurrentRuns =
      input.maxConcurrentRuns === undefined
        ? current.maxConcurrentRuns
        : parseInput(maxConcurrentRunsSchema, input.maxConcurrentRuns, 'maxConcurrentRuns')
    const given = current.protocol === 'ODATA' ? input.odataConfig : input.rfcConfig
    const other = current.protocol === 'ODATA' ? input.rfcConfig : input.odataConfig
    if (other != null) throw this.wrongConfig(current.protocol)
    const next = given == null ? { config: current.config, secret: current.secret } : this.settingsFor(current.protocol, input, current)
    const pipelines = await this.db.pipeline.findMany({
      where: { connectionId: id, mode: 'DELTA', sourceKind: 'ODP_ODATA' },
      select: { id: true, name: true, entitySet: true, subscriptionKey: true, deltaState: { select: { pipelineId: true } } },
    })
    const rekeyed = pipelines.map((p) => ({ ...p, key: subscriptionKey({ ...current, config: next.config }, p.entitySet ?? '') }))
    const broken = rekeyed.filter((p) => p.deltaState && p.key !== p.subscriptionKey)
    if (broken.length)
      throw conflict(
        `changing the service URL, SAP user or client would orphan the SAP delta subscription of pipeline(s) ${broken.map((p) => `"${p.name}"`).join(', ')}; call resetDelta on them first`,
      )
    // A stored config that cannot be read any more counts as a change of identity: it is being repaired.
    const identityBefore = (() => {
      try {
        return sapIdentity(connectionSettingsOf(current))
      } catch (e) {
        if (e instanceof StoredRowError) return null
        throw e
      }
    })()
    const identityChanges = identityBefore !== sapIdentity(connectionSettingsOf({ ...current, config: next.config }))
    try {
      return await this.db.$transaction(async (tx) => {
        await lockCurrentKey(tx, this.box)
        if (identityChanges) await refuseIdentityChange(tx, id)
        for (const p of rekeyed.filter((p) => p.key !== p.subscriptionKey))
          await tx.pipeline.update({ where: { id: p.id }, data: { subscriptionKey: p.key } })
        return tx.connection.update({ where: { id }, data: { name, maxConcurrentRuns, config: next.config, secret: next.secret } })
      })
    } catch (e) {
      if (isUniqueViolation(e, 'subscriptionKey'))
        throw conflict('after this change two DELTA pipelines would share one SAP subscription (same service, user, client and entity set)')
      if (isUniqueViolation(e)) throw conflict(`a connection named "${name}" already exists`, { field: 'name' })
      throw e
    }
  }

  async delete(id: string): Promise<string> {
    await this.get(id)
    const users = await this.db.pipeline.findMany({ where: { connectionId: id }, select: { name: true } })
    if (users.length)
      throw conflict(`connection ${id} is used by pipeline(s) ${users.map((p) => `"${p.name}"`).join(', ')}; delete them first`)
    await this.db.connection.delete({ where: { id } })
    return id
  }

  async get(id: string): Promise<Connection> {
    const c = await this.db.connection.findUnique({ where: { id } })
    if (!c) throw notFound('connection', id)
    return c
  }

  resolve(c: Connection): ResolvedConnection {
    return { id: c.id, name: c.name, ...connectionSettingsOf(c), secrets: this.secretsOf(c) }
  }

  /**
   * Logs on to SAP (fetches the service metadata) and measures the round trip. SAP-side problems
   * are answers (ok false, with their class), not errors.
   */
  async test(id: string): Promise<ConnectionTestResult> {
    const connection = this.resolve(await this.get(id))
    const started = performance.now()
    try {
      const { latencyMs } = await this.sap.sources(connection, this.sap.log).ping(AbortSignal.timeout(TEST_TIMEOUT_MS))
      return { ok: true, message: `logged on to ${connection.name}`, code: null, latencyMs }
    } catch (e) {
      // Only source errors carry messages fit for users; anything else is masked like any other error.
      if (!(e instanceof SourceError)) throw e
      return { ok: false, message: e.message, code: e.code, latencyMs: Math.round(performance.now() - started) }
    }
  }

  private secretsOf(c: Pick<Connection, 'id' | 'name' | 'secret'>): ConnectionSecrets {
    return c.secret ? connectionSecretsOf(c, this.box.open(c.secret)) : {}
  }

  private wrongConfig(protocol: Protocol) {
    return badInput(
      `a ${protocol} connection takes ${protocol === 'ODATA' ? 'odataConfig' : 'rfcConfig'} only`,
      protocol === 'ODATA' ? 'rfcConfig' : 'odataConfig',
    )
  }

  /**
   * Validates the protocol's config and splits it into public settings and encrypted secrets. An
   * omitted password keeps the stored one, as long as it goes where it was given for (see
   * {@link passwordBinding}); null or '' removes it.
   */
  private settingsFor(
    protocol: Protocol,
    input: { odataConfig?: unknown; rfcConfig?: unknown },
    current: Connection | undefined,
  ): { config: string; secret: string | null } {
    const [mine, other, field] =
      protocol === 'ODATA' ? [input.odataConfig, input.rfcConfig, 'odataConfig'] : [input.rfcConfig, input.odataConfig, 'rfcConfig']
    if (other != null) throw this.wrongConfig(protocol)
    if (mine == null) throw badInput(`${field} is required for a ${protocol} connection`, field)
    const { settings, given } = splitInput(protocol, mine, field)
    // Opened only when kept: a connection whose stored secret cannot be read is repaired by giving it again.
    const previous = given === undefined && current ? this.secretsOf(current).password : undefined
    if (given === undefined && previous && current) {
      const [before, after] = [this.bindingOf(current), passwordBinding(settings)]
      const name = protocol === 'ODATA' ? 'password' : 'passwd'
      // Refused rather than dropped: nothing changes on a mistake, and the message says what to send.
      if (before !== after)
        throw badInput(
          `${field}.${name}: the stored password was given for ${before ?? 'settings that can no longer be read'}; it is not sent to ${after}. Give ${name} again in the same request (or "" to save the connection without one)`,
          `${field}.${name}`,
        )
    }
    const next = given === undefined ? previous : given || undefined
    const config = settings.protocol === 'ODATA' ? settings.odata : settings.rfc
    return { config: JSON.stringify(config), secret: next ? this.box.seal({ password: next } satisfies ConnectionSecrets) : null }
  }

  /** Where the stored password was given for; undefined when the stored config cannot be read (then it goes nowhere new). */
  private bindingOf(current: Connection): string | undefined {
    try {
      return passwordBinding(connectionSettingsOf(current))
    } catch (e) {
      if (e instanceof StoredRowError) return undefined
      throw e
    }
  }
}

/**
 * Validated input, split into the settings to store (typed by the stored shape, so what is written
 * reads back) and the password given: undefined keeps the stored one, null or '' removes it.
 */
function splitInput(protocol: Protocol, input: unknown, field: string): { settings: ConnectionSettings; given: string | null | undefined } {
  if (protocol === 'ODATA') {
    const { password, ...odata } = parseInput(odataConfigSchema, input, field)
    return { settings: { protocol, odata }, given: password }
  }
  const { passwd, ...rfc } = parseInput(rfcConfigSchema, input, field)
  return { settings: { protocol, rfc }, given: passwd }
}
