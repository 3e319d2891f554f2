import { mkdtemp, readFile, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { ConfigError, parseConfig } from '../../src/config.js'
import { resolveSecretKey, SecretBox } from '../../src/db/secrets.js'

describe('secrets at rest', () => {
  it('round-trips, never stores the plain text, and detects tampering or another key', () => {
    const box = new SecretBox('a-key-of-sixteen+chars')
    const sealed = box.seal({ password: 'Welcome1!' })
    expect(sealed).toMatch(/^v1:/)
    expect(sealed).not.toContain('Welcome1')
    expect(box.seal({ password: 'Welcome1!' })).not.toBe(sealed) // fresh IV each time
    expect(box.open(sealed)).toEqual({ password: 'Welcome1!' })
    expect(() => new SecretBox('another-key-entirely').open(sealed)).toThrow()
    const raw = Buffer.from(sealed.slice(3), 'base64')
    raw[raw.length - 1] ^= 1
    expect(() => box.open('v1:' + raw.toString('base64'))).toThrow()
  })

  it('generates a key into DATA_DIR on first start, readable by the owner only, and reuses it', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'de-key-'))
    try {
      const key = resolveSecretKey(undefined, dir)
      expect(key.length).toBeGreaterThanOrEqual(32)
      expect((await stat(join(dir, 'secret.key'))).mode & 0o777).toBe(0o600)
      expect(resolveSecretKey(undefined, dir)).toBe(key)
      expect((await readFile(join(dir, 'secret.key'), 'utf8')).trim()).toBe(key)
      expect(resolveSecretKey('given-secret-key-123', dir)).toBe('given-secret-key-123')
    } finally {
      await rm(dir, { recursive: true })
    }
  })
})

describe('configuration', () => {
  it('has the documented defaults', () => {
    expect(parseConfig({})).toMatchObject({
      PORT: 4000,
      HOST: '127.0.0.1',
      DATA_DIR: './data',
      LOG_LEVEL: 'info',
      SCHEDULER: true,
      WORKER_CONCURRENCY: 2,
      RFC_POOL_SIZE: 4,
    })
    expect(parseConfig({ RFC_POOL_SIZE: '2' }).RFC_POOL_SIZE).toBe(2)
  })

  it('reads the security settings: loopback off, no allow list, LOCAL_ROOTS under DATA_DIR by default', () => {
    expect(parseConfig({ DATA_DIR: '/srv/de' })).toMatchObject({
      ALLOW_LOOPBACK: false,
      OUTBOUND_ALLOW: [],
      LOCAL_ROOTS: ['/srv/de/lake'],
      S3_DEFAULT_CREDENTIALS_ENDPOINTS: [],
    })
    expect(
      parseConfig({
        ALLOW_LOOPBACK: 'true',
        OUTBOUND_ALLOW: 'sap.corp.example:44300, *.corp.example 10.0.0.0/8,[fd00::1]:443',
        LOCAL_ROOTS: '/srv/lake:/mnt/share',
        S3_DEFAULT_CREDENTIALS_ENDPOINTS: 'https://minio.corp.example:9000',
      }),
    ).toMatchObject({
      ALLOW_LOOPBACK: true,
      OUTBOUND_ALLOW: ['sap.corp.example:44300', '*.corp.example', '10.0.0.0/8', '[fd00::1]:443'],
      LOCAL_ROOTS: ['/srv/lake', '/mnt/share'],
      S3_DEFAULT_CREDENTIALS_ENDPOINTS: ['https://minio.corp.example:9000'],
    })
  })

  it.each([
    [{ ALLOW_LOOPBACK: 'yes' }, 'ALLOW_LOOPBACK'],
    [{ OUTBOUND_ALLOW: '10.0.0.0/40' }, 'OUTBOUND_ALLOW entry "10.0.0.0/40"'],
    [{ OUTBOUND_ALLOW: 'not a host!' }, 'OUTBOUND_ALLOW'],
    [{ LOCAL_ROOTS: 'relative/lake' }, 'LOCAL_ROOTS'],
    [{ S3_DEFAULT_CREDENTIALS_ENDPOINTS: 'minio:9000' }, 'S3_DEFAULT_CREDENTIALS_ENDPOINTS'],
    [{ NEW_SECRET_KEY: 'short' }, 'NEW_SECRET_KEY'],
    [{ PORT: 'eighty' }, 'PORT'],
    [{ DATABASE_URL: 'mysql://x' }, 'DATABASE_URL'],
    [{ SECRET_KEY: 'short' }, 'SECRET_KEY'],
    [{ LOG_LEVEL: 'loud' }, 'LOG_LEVEL'],
    [{ RFC_POOL_SIZE: '0' }, 'RFC_POOL_SIZE'],
    [{ RFC_POOL_SIZE: 'four' }, 'RFC_POOL_SIZE'],
  ])('refuses %j naming the variable', (env, name) => {
    expect(() => parseConfig(env)).toThrow(ConfigError)
    expect(() => parseConfig(env)).toThrow(name)
  })
})
