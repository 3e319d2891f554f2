/**
 * `RunEvent.data`: the details of a line in a run's own log (an error code, counts), a JSON object.
 * The run engine writes it and owns its shape; this is the one place it is written and parsed.
 */
import { z } from 'zod'
import { parseStored } from '../catalog/stored-json.js'
import type { RunEvent } from '../db/client.js'

const eventDataSchema = z.record(z.string(), z.unknown())
export type EventData = z.output<typeof eventDataSchema>

/** Bigints (row counts) as decimal strings: JSON has no integers beyond 2^53. */
const jsonSafe = (_: string, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)

export const eventDataText = (data: EventData | undefined): string | null => (data ? JSON.stringify(data, jsonSafe) : null)

export function eventDataOf(e: Pick<RunEvent, 'id' | 'data'>): EventData | null {
  return e.data ? parseStored(eventDataSchema, { table: 'run event', id: String(e.id) }, 'data', e.data) : null
}
