/** The security settings as the environment gives them, and the small parsers the API's guards rely on. */
import { hostname } from 'node:os'
import { describe, expect, it } from 'vitest'
import { bearerToken } from '../../src/api/auth/http-auth.js'
import { MutationRateLimiter } from '../../src/api/auth/rate-limit.js'
import { defaultAllowedHosts } from '../../src/api/auth/transport-guard.js'
import { securityFromConfig } from '../../src/api/security.js'
import { isLoopback } from '../../src/auth/bootstrap.js'
import { parseRole } from '../../src/auth/roles.js'
import { ConfigError, parseConfig } from '../../src/config.js'

describe('settings', () => {
  it('defaults to no CORS origin, the bound host, 1 MiB messages and the documented limits', () => {
    expect(securityFromConfig(parseConfig({}))).toEqual({
      corsOrigins: [],
      allowedHosts: [],
      maxRequestBytes: 1024 * 1024,
      limits: { maxDepth: 8, maxAliases: 15, maxFields: 300, maxCost: 20_000, maxTokens: 2_000 },
      mutationsPerMinute: 120,
      subscriptions: { perSocket: 100, perToken: 500, socketsPerToken: 50 },
    })
  })

  it('reads comma-separated lists and numbers, and refuses nonsense', () => {
    const s = securityFromConfig(
      parseConfig({
        CORS_ORIGINS: 'https://a.example, https://b.example,',
        ALLOWED_HOSTS: 'api.example',
        QUERY_MAX_DEPTH: '12',
        MUTATIONS_PER_MINUTE: '0',
      }),
    )
    expect(s.corsOrigins).toEqual(['https://a.example', 'https://b.example'])
    expect(s.allowedHosts).toEqual(['api.example'])
    expect(s.limits.maxDepth).toBe(12)
    expect(s.mutationsPerMinute).toBe(0)
    expect(() => parseConfig({ QUERY_MAX_DEPTH: '0' })).toThrow(ConfigError)
    expect(() => parseConfig({ MAX_REQUEST_BYTES: 'lots' })).toThrow(ConfigError)
  })
})

describe('guards', () => {
  it('knows loopback addresses', () => {
    expect(['127.0.0.1', '127.1.2.3', 'localhost', '::1', '[::1]'].map(isLoopback)).toEqual([true, true, true, true, true])
    expect(['0.0.0.0', '::', '10.0.0.5', 'example.com', '128.0.0.1'].map(isLoopback)).toEqual([false, false, false, false, false])
  })

  it('allows the bound names by default: loopback names on loopback, the machine on 0.0.0.0, only itself otherwise', () => {
    expect(defaultAllowedHosts('127.0.0.1').sort()).toEqual(['127.0.0.1', '[::1]', 'localhost'])
    expect(defaultAllowedHosts('10.0.0.5')).toEqual(['10.0.0.5'])
    expect(defaultAllowedHosts('0.0.0.0')).toEqual(expect.arrayContaining(['localhost', '127.0.0.1', hostname().toLowerCase()]))
  })

  it('reads bearer tokens and roles', () => {
    expect(bearerToken('Bearer dex_abc')).toBe('dex_abc')
    expect(bearerToken('bearer   dex_abc ')).toBe('dex_abc')
    expect(bearerToken('dex_abc')).toBe('dex_abc')
    expect(bearerToken('Basic a b')).toBeUndefined()
    expect(bearerToken('')).toBeUndefined()
    expect(['admin', 'Operator', 'VIEWER', 'root'].map(parseRole)).toEqual(['ADMIN', 'OPERATOR', 'VIEWER', undefined])
  })

  it('counts mutations per token in one-minute windows', () => {
    const limiter = new MutationRateLimiter(3)
    expect([limiter.take('a', 2, 0), limiter.take('a', 2, 1), limiter.take('a', 1, 2), limiter.take('b', 3, 2)]).toEqual([
      true,
      false,
      true,
      true,
    ])
    expect(limiter.retryAfter('a', 30_000)).toBe(30)
    expect(limiter.take('a', 3, 60_000)).toBe(true)
  })
})
