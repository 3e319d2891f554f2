/**
 * Logon as the ICF layer of an ABAP system does it before any service code runs (A.3): the logon
 * client (`sap-client` query parameter or header), Basic authentication or a session cookie, the
 * `sap-usercontext` / `SAP_SESSIONID_<SID>_<client>` cookies, and CSRF tokens bound to the session.
 */
import { randomBytes } from 'node:crypto'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { MSG, SapHttpError } from '../odata/errors.js'
import type { SimState } from '../state.js'

const SID = 'XYZ'
const MAX_SESSIONS = 10_000

interface Session {
  user: string
  csrf?: string
}

function cookies(req: IncomingMessage): Map<string, string> {
  const out = new Map<string, string>()
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const eq = part.indexOf('=')
    if (eq > 0) out.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim())
  }
  return out
}

export class LogonService {
  private readonly sessions = new Map<string, Session>()

  constructor(private readonly state: SimState) {}

  private get cookieName(): string {
    return `SAP_SESSIONID_${SID}_${this.state.sapClient}`
  }

  private unauthorized(message: string): SapHttpError {
    return new SapHttpError(401, MSG.logonFailed, message, {
      'www-authenticate': `Basic realm="SAP NetWeaver Application Server [${SID}/${this.state.sapClient}]"`,
    })
  }

  /**
   * Authenticates the request and sets the logon cookies on `res`; returns the upper-case user.
   * Throws 401 for a foreign client, a missing or wrong password, or an unknown session.
   */
  logon(req: IncomingMessage, res: ServerResponse, sapClientParam: string | undefined): string {
    const headerClient = req.headers['sap-client']
    const client = sapClientParam ?? (typeof headerClient === 'string' ? headerClient : undefined)
    if (client !== undefined && client !== this.state.sapClient) {
      throw this.unauthorized(`Logon failed: client ${client} is not available in this system`)
    }
    let user: string | undefined
    let sessionId = cookies(req).get(this.cookieName)
    const auth = req.headers.authorization
    if (auth !== undefined) {
      const m = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(auth)
      const decoded = m ? Buffer.from(m[1], 'base64').toString('utf8') : ''
      const colon = decoded.indexOf(':')
      const name = colon > 0 ? decoded.slice(0, colon).toUpperCase() : ''
      const password = colon > 0 ? decoded.slice(colon + 1) : undefined
      if (!name || this.state.users.get(name) !== password) throw this.unauthorized('Logon failed: name or password is incorrect')
      user = name
      if (sessionId !== undefined && this.sessions.get(sessionId)?.user !== user) sessionId = undefined
    } else if (sessionId !== undefined && this.sessions.has(sessionId)) {
      user = this.sessions.get(sessionId)!.user
    } else {
      throw this.unauthorized('Logon failed: no credentials')
    }
    const setCookies = [`sap-usercontext=sap-client=${this.state.sapClient}; path=/`]
    if (sessionId === undefined || !this.sessions.has(sessionId)) {
      sessionId = randomBytes(24).toString('base64url')
      if (this.sessions.size >= MAX_SESSIONS) this.sessions.delete(this.sessions.keys().next().value!)
      this.sessions.set(sessionId, { user })
      setCookies.push(`${this.cookieName}=${sessionId}; path=/; HttpOnly`)
    }
    res.setHeader('set-cookie', setCookies)
    res.setHeader('sap-server', 'true')
    const csrfHeader = req.headers['x-csrf-token']
    if (typeof csrfHeader === 'string' && csrfHeader.toLowerCase() === 'fetch') {
      const session = this.sessions.get(sessionId)!
      session.csrf ??= randomBytes(18).toString('base64')
      res.setHeader('x-csrf-token', session.csrf)
    }
    return user
  }

  /** Modifying requests need the session's CSRF token and its cookie (A.3), else 403 `x-csrf-token: Required`. */
  checkCsrf(req: IncomingMessage, user: string): void {
    const token = req.headers['x-csrf-token']
    const sessionId = cookies(req).get(this.cookieName)
    const session = sessionId !== undefined ? this.sessions.get(sessionId) : undefined
    if (typeof token !== 'string' || !session || session.user !== user || session.csrf === undefined || session.csrf !== token) {
      throw new SapHttpError(403, MSG.csrf, 'CSRF token validation failed', { 'x-csrf-token': 'Required' })
    }
  }
}
