import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import { connectionSecretsOf, connectionSettingsOf, publicSettingsOf } from '../../src/catalog/connection-config.js'
import { settingsOf } from '../../src/catalog/destination-config.js'
import { fieldsOf } from '../../src/catalog/pipeline-world.js'
import { parseStored, StoredRowError } from '../../src/catalog/stored-json.js'
import { classifyRunError } from '../../src/orchestrator/run-errors.js'

const connection = (config: string) => ({ id: 'c1', name: 'ERP', protocol: 'ODATA' as const, config, secret: null })

/** The error a read throws, for assertions on its message. */
function thrown(read: () => unknown): StoredRowError {
  try {
    read()
  } catch (e) {
    expect(e).toBeInstanceOf(StoredRowError)
    return e as StoredRowError
  }
  throw new Error('expected the read to throw')
}

describe('stored JSON columns', () => {
  it('reads a row that fits, with absent or null optional members as undefined', () => {
    const s = connectionSettingsOf(
      connection(JSON.stringify({ serviceUrl: 'https://sap.example.com/sap/opu/odata/sap/Z_SRV', sapClient: null })),
    )
    expect(s).toEqual({ protocol: 'ODATA', odata: { serviceUrl: 'https://sap.example.com/sap/opu/odata/sap/Z_SRV', sapClient: undefined } })
    expect(publicSettingsOf({ ...connection(JSON.stringify({ serviceUrl: 'https://h/x' })), secret: 'v1:…' })).toEqual({
      odata: { serviceUrl: 'https://h/x', hasPassword: true },
      rfc: null,
    })
    expect(settingsOf({ kind: 'S3', config: JSON.stringify({ bucket: 'lake' }) })).toEqual({
      kind: 'S3',
      s3: { bucket: 'lake', prefix: '' },
    })
  })

  it('names the row, the column and what does not fit, never the value', () => {
    const e = thrown(() => connectionSettingsOf(connection(JSON.stringify({ serviceUrl: 'ftp:/secret-host typed by hand', user: 7 }))))
    expect(e.message).toBe(
      'connection c1 "ERP": its stored ODATA config does not fit (serviceUrl: is not a URL; user: Invalid input: expected string, received number) (written by hand, or by another version?); updateConnection with its whole config and password saves it again',
    )
    expect(e).toMatchObject({ row: { table: 'connection', id: 'c1' }, column: 'ODATA config' })
  })

  it('does not quote text that is not JSON (JSON.parse would)', () => {
    const e = thrown(() => settingsOf({ id: 'd1', name: 'lake', kind: 'LOCAL', config: '{"path": "/srv/half-writ' }))
    expect(e.message).toMatch(/^destination d1 "lake": its stored LOCAL config is not valid JSON/)
    expect(e.message).not.toContain('half-writ')
  })

  it('checks opened secrets and field lists the same way', () => {
    expect(thrown(() => connectionSecretsOf({ id: 'c1' }, { password: 12345 })).message).toMatch(
      /^connection c1: its stored secret does not fit \(password: Invalid input/,
    )
    expect(thrown(() => connectionSecretsOf({ id: 'c1' }, { password: 12345 })).message).not.toContain('12345')
    expect(fieldsOf({ id: 'p1', fields: '["VBELN","POSNR"]' })).toEqual(['VBELN', 'POSNR'])
    expect(thrown(() => fieldsOf({ id: 'p1', name: 'sales', fields: '"VBELN"' })).message).toMatch(
      /^pipeline p1 "sales": its stored field list does not fit/,
    )
  })

  it('names a row not yet written by what is known of it', () => {
    expect(thrown(() => parseStored(z.number(), { table: 'run event' }, 'data', '"x"')).message).toMatch(
      /^run event: its stored data does not fit \(Invalid input: expected number/,
    )
  })

  it('fails a run INTERNAL with the message that names the row, not behind a log id, and not retried', () => {
    const e = thrown(() => connectionSettingsOf(connection('[]')))
    const logged: unknown[] = []
    expect(classifyRunError(e, (...a) => logged.push(a))).toEqual({ code: 'INTERNAL', message: e.message, retryable: false })
    expect(logged).toEqual([])
  })
})
