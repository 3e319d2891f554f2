/**
 * What a stored connection row holds in `config` (public settings, by protocol) and, once opened,
 * in `secret`: the one place these columns are parsed. Input is validated elsewhere
 * (connections.ts, with trimming, formats and messages for users); what it produces is typed by
 * the shapes here, so a saved connection always reads back.
 */
import { z } from 'zod'
import type { Connection } from '../db/client.js'
import { checkStored, optional, parseStored, storedUrl, type RowRef } from './stored-json.js'

const text = optional(z.string())

const odataSettingsSchema = z.object({
  serviceUrl: storedUrl,
  sapClient: text,
  user: text,
  language: text,
})

const rfcSettingsSchema = z.object({
  ashost: text,
  sysnr: text,
  client: z.string(),
  user: text,
  lang: text,
  mshost: text,
  msserv: text,
  group: text,
  sysid: text,
  saprouter: text,
})

const connectionSecretsSchema = z.object({ password: z.string().optional() })

export type ODataSettings = z.output<typeof odataSettingsSchema>
export type RfcSettings = z.output<typeof rfcSettingsSchema>
export type ConnectionSecrets = z.output<typeof connectionSecretsSchema>

/** A connection's public settings, by protocol. */
export type ConnectionSettings = { protocol: 'ODATA'; odata: ODataSettings } | { protocol: 'RFC'; rfc: RfcSettings }

type ConfigRow = Pick<Connection, 'protocol' | 'config'> & Partial<Pick<Connection, 'id' | 'name'>>

const rowRef = (c: Partial<Pick<Connection, 'id' | 'name'>>): RowRef => ({
  table: 'connection',
  id: c.id,
  name: c.name,
  repair: 'updateConnection with its whole config and password saves it again',
})

export function connectionSettingsOf(c: ConfigRow): ConnectionSettings {
  return c.protocol === 'ODATA'
    ? { protocol: 'ODATA', odata: parseStored(odataSettingsSchema, rowRef(c), 'ODATA config', c.config) }
    : { protocol: 'RFC', rfc: parseStored(rfcSettingsSchema, rowRef(c), 'RFC config', c.config) }
}

/** The settings of a connection the caller knows to be ODATA (its pipelines read ODP over OData). */
export function odataSettingsOf(c: Omit<ConfigRow, 'protocol'>): ODataSettings {
  return parseStored(odataSettingsSchema, rowRef(c), 'ODATA config', c.config)
}

/** A connection's secrets, from the JSON its sealed `secret` opened to. */
export function connectionSecretsOf(c: Partial<Pick<Connection, 'id' | 'name'>>, opened: unknown): ConnectionSecrets {
  return checkStored(connectionSecretsSchema, rowRef(c), 'secret', opened)
}

/** What the API may show of a connection: its public settings and whether a password is stored, never the password. */
export function publicSettingsOf(c: ConfigRow & Pick<Connection, 'secret'>) {
  const s = connectionSettingsOf(c)
  const hasPassword = c.secret != null
  return {
    odata: s.protocol === 'ODATA' ? { ...s.odata, hasPassword } : null,
    rfc: s.protocol === 'RFC' ? { ...s.rfc, hasPassword } : null,
  }
}
