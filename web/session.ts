import type { Api } from './api.js'
import type { Role } from './gql/graphql.js'

/** What every view gets: the connection, who is signed in, and how to report an outcome. */
export interface Session {
  api: Api
  name: string
  role: Role
  /** Shows a message in the page's status line (errors from the service, confirmations). */
  say(message: string, kind?: 'error' | 'info'): void
}

/** Buttons that change something are shown to OPERATOR and ADMIN tokens; the service checks again on every call. */
export const mayOperate = (s: Session): boolean => s.role === 'OPERATOR' || s.role === 'ADMIN'

/**
 * Runs a button's action with the button disabled, so a double click sends one request. After a
 * success the view that owns the button redraws it; after a refusal the button is usable again and
 * the service's message is shown.
 */
export async function act(s: Session, button: HTMLButtonElement, action: () => Promise<unknown>): Promise<void> {
  button.disabled = true
  try {
    await action()
  } catch (e) {
    button.disabled = false
    s.say((e as Error).message, 'error')
  }
}
