/**
 * How the SAP clients log, whatever the protocol: a level, a message and structured data. The
 * orchestrator binds it to the pino logger of the run or request being served
 * (src/orchestrator/sources.ts), so the clients know nothing of pino.
 */
export type SapLogLevel = 'debug' | 'info' | 'warn'

export type SapLog = (level: SapLogLevel, msg: string, data?: Record<string, unknown>) => void

/** For callers that gave no log. */
export const silentLog: SapLog = () => undefined
