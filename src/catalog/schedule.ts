import { Cron } from 'croner'

/**
 * Cron schedules: standard 5 fields (minute precision), an optional 6th seconds field, and
 * nicknames such as @daily. Time zone UTC unless the pipeline names an IANA zone.
 */
export function checkSchedule(expression: string, timezone: string | undefined): string | null {
  try {
    const cron = new Cron(expression, { timezone: timezone ?? 'UTC', paused: true })
    const next = cron.nextRun()
    cron.stop()
    return next ? null : 'never fires'
  } catch (e) {
    return (e as Error).message.replace(/^CronPattern: /, '')
  }
}

export function checkTimezone(tz: string): string | null {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz })
    return null
  } catch {
    return `unknown time zone "${tz}" (use an IANA name such as Europe/Berlin)`
  }
}

/** The first fire time strictly after `after`, or null. */
export function nextFireTime(expression: string, timezone: string | undefined, after: Date): Date | null {
  const cron = new Cron(expression, { timezone: timezone ?? 'UTC', paused: true })
  try {
    return cron.nextRun(after)
  } finally {
    cron.stop()
  }
}
