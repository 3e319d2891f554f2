import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { keyOfUri, ownedKeyOf } from '../../src/lake/iceberg/owned-files.js'
import { adlsRootOf } from '../../src/storage/azure-settings.js'
import type { Destination } from '../../src/storage/destination.js'
import { LocalDestination } from '../../src/storage/local.js'
import { S3Destination } from '../../src/storage/s3.js'
import { AZURITE_ACCOUNT } from '../helpers/azurite.js'
import { azuriteDestination, QUICK } from './helpers.js'

/**
 * The URIs a lake table records (Destination.tableUriOf, docs/architecture.md#lake-tables "Layout")
 * and their way back to keys (owned-files.ts): on Azure's public endpoint the ADLS Gen2 `abfss://`
 * form engines open, elsewhere the blob `https://` form; both forms map back to the same key, so a
 * table written before the abfss form keeps working.
 */

// Destinations are only constructed here: nothing is sent to these accounts.
const publicAzure = () => azuriteDestination('https://acmelake01.blob.core.windows.net', { accountName: 'acmelake01', prefix: 'sap/out' })
const rootAzure = () => azuriteDestination('https://acmelake01.blob.core.windows.net/', { accountName: 'acmelake01', prefix: '' })
const azurite = () => azuriteDestination(`http://127.0.0.1:10000/${AZURITE_ACCOUNT}`)
const s3 = () => new S3Destination({ bucket: 'lake', prefix: 'root', region: 'eu-central-1' }, {}, QUICK)

describe('Destination.tableUriOf', () => {
  it('writes abfss://container@account.dfs.core.windows.net/<prefix>/<key> for an account on the public endpoint', () => {
    const d = publicAzure()
    try {
      expect(d.tableUriOf('VBAP/metadata/v1.metadata.json')).toBe(
        'abfss://lake@acmelake01.dfs.core.windows.net/sap/out/VBAP/metadata/v1.metadata.json',
      )
      expect(d.tableUriOf('runs/2026/r 1/part-00000.parquet')).toBe(
        'abfss://lake@acmelake01.dfs.core.windows.net/sap/out/runs/2026/r 1/part-00000.parquet',
      )
      // Manifests and run URIs of other pipelines keep the blob form.
      expect(d.uriOf('VBAP/metadata/v1.metadata.json')).toBe(
        'https://acmelake01.blob.core.windows.net/lake/sap/out/VBAP/metadata/v1.metadata.json',
      )
    } finally {
      d.close()
    }
    const root = rootAzure()
    try {
      expect(root.tableUriOf('VBAP/data/x.parquet')).toBe('abfss://lake@acmelake01.dfs.core.windows.net/VBAP/data/x.parquet')
    } finally {
      root.close()
    }
  })

  it('keeps the blob form where the DFS endpoint cannot be derived: Azurite, sovereign clouds, custom domains, http, ports', () => {
    const kept = [
      `http://127.0.0.1:10000/${AZURITE_ACCOUNT}`,
      'https://acme.blob.core.chinacloudapi.cn',
      'https://acme.blob.core.usgovcloudapi.net',
      'https://storage.example.com',
      'https://acme.privatelink.blob.core.windows.net',
      'https://acme.z13.blob.storage.azure.net',
      'http://acme.blob.core.windows.net',
      'https://acme.blob.core.windows.net:8443',
      'https://acme.blob.core.windows.net/devstoreaccount1',
      'https://ACME_X.blob.core.windows.net',
    ]
    for (const accountUrl of kept) expect(adlsRootOf({ accountUrl, container: 'lake' }), accountUrl).toBeNull()
    // Upper case in the host is the same host; a container name Azure would refuse is not mapped.
    expect(adlsRootOf({ accountUrl: 'https://ACME.Blob.Core.Windows.Net', container: 'lake' })).toBe(
      'abfss://lake@acme.dfs.core.windows.net',
    )
    expect(adlsRootOf({ accountUrl: 'https://acme.blob.core.windows.net', container: '$root' })).toBeNull()
    const d = azurite()
    try {
      expect(d.tableUriOf('t/metadata/v1.metadata.json')).toBe(d.uriOf('t/metadata/v1.metadata.json'))
    } finally {
      d.close()
    }
    const s = s3()
    try {
      expect(s.tableUriOf('t/x.parquet')).toBe('s3://lake/root/t/x.parquet')
    } finally {
      s.close?.()
    }
  })
})

describe('recorded URI → key', () => {
  let dir: string
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'de-table-uri-'))
  })
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true })
  })

  /** A key segment with the characters that trip URI handling: spaces, %, #, ?, unicode, +, @. */
  const segment = fc
    .array(
      fc.oneof(
        fc.constantFrom(' ', '%', '%20', '%2F', '#', '?', '+', '@', '&', '=', 'ü', '日本', '😀', '.', '-', '_'),
        fc.string({ minLength: 1, maxLength: 3 }),
      ),
      {
        minLength: 1,
        maxLength: 6,
      },
    )
    .map((parts) => parts.join('').replace(/[/\\\0]/g, '_'))
    .filter((s) => s !== '.' && s !== '..')
  const key = fc.array(segment, { minLength: 1, maxLength: 4 }).map((s) => s.join('/'))

  const destinations: [string, () => Destination][] = [
    ['Azure, public endpoint (abfss and legacy https forms)', publicAzure],
    ['Azure, Azurite (blob form only)', azurite],
    ['S3', s3],
    ['LOCAL', () => new LocalDestination(dir)],
  ]

  for (const [name, make] of destinations)
    it(`${name}: every form a table may have recorded maps back to its key, also under an owned prefix`, () => {
      const d = make()
      try {
        fc.assert(
          fc.property(key, segment, (k, owner) => {
            for (const uri of new Set([d.tableUriOf(k), d.uriOf(k)])) {
              expect(keyOfUri(d, uri)).toBe(k)
              expect(ownedKeyOf(d, uri, ['somewhere/else'])).toBeNull()
              const owned = `${owner}/${k}`
              const ownedUri = uri === d.uriOf(k) ? d.uriOf(owned) : d.tableUriOf(owned)
              expect(ownedKeyOf(d, ownedUri, [owner])).toBe(owned)
              expect(ownedKeyOf(d, ownedUri, [`${owner}/`])).toBe(owned)
            }
          }),
          { numRuns: 300 },
        )
        // Not on this destination at all.
        expect(keyOfUri(d, 'abfss://other@someone.dfs.core.windows.net/x')).toBeNull()
        expect(keyOfUri(d, 'https://elsewhere.example.com/lake/root/x')).toBeNull()
      } finally {
        d.close?.()
      }
    })
})
