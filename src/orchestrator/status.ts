import type { RunStage, RunStatus } from '../db/client.js'

/** Named status checks, so no caller spells out arrays of states (trigger.dev's statuses.ts). */
const TERMINAL_STATUSES: readonly RunStatus[] = ['SUCCEEDED', 'FAILED', 'CANCELLED']

export const isTerminal = (run: { status: RunStatus }) => TERMINAL_STATUSES.includes(run.status)

/** Stages in the order a run passes them; a run's `stage` is the oldest one still working. */
export const STAGE_ORDER: readonly RunStage[] = ['QUEUED', 'CONNECTING', 'EXTRACTING', 'TRANSFORMING', 'UPLOADING', 'COMMITTING', 'DONE']
