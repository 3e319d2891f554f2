/**
 * Session cookies (`SAP_SESSIONID_…`, `sap-usercontext`, `MYSAPSSO2`) kept for one read, so every
 * page lands in the same SAP session. Attributes other than expiry are irrelevant: one origin only.
 */
export class CookieJar {
  private readonly cookies = new Map<string, string>()

  store(headers: Headers): void {
    const lines = typeof headers.getSetCookie === 'function' ? headers.getSetCookie() : splitSetCookie(headers.get('set-cookie'))
    for (const line of lines) {
      const [pair, ...attrs] = line.split(';')
      const eq = pair.indexOf('=')
      if (eq <= 0) continue
      const name = pair.slice(0, eq).trim()
      const value = pair.slice(eq + 1).trim()
      const expired = attrs.some((a) => {
        const [k, v = ''] = a.split('=').map((s) => s.trim())
        if (/^max-age$/i.test(k)) return Number(v) <= 0
        if (/^expires$/i.test(k)) return Date.parse(v) <= Date.now()
        return false
      })
      if (expired || value === '') this.cookies.delete(name)
      else this.cookies.set(name, value)
    }
  }

  header(): string | undefined {
    if (this.cookies.size === 0) return undefined
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ')
  }

  get size(): number {
    return this.cookies.size
  }
}

function splitSetCookie(v: string | null): string[] {
  return v ? v.split(/,(?=\s*[^;,=\s]+=)/) : []
}
