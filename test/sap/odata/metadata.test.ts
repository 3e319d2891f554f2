import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { SourceError } from '../../../src/sap/errors.js'
import { ServiceMetadata } from '../../../src/sap/odata/metadata.js'

const xml = readFileSync(new URL('./fixtures/metadata-sales.xml', import.meta.url), 'utf8')

describe('ServiceMetadata', () => {
  it('lists entity sets in document order', () => {
    const md = new ServiceMetadata(xml)
    expect(md.entitySetNames).toEqual(['EntityOfZSALES', 'DeltaLinksOfEntityOfZSALES', 'FactsOfZTYPES', 'EntityOfZBROKEN'])
  })

  it('maps an ODP entity set to the column model', () => {
    const info = new ServiceMetadata(xml).info('EntityOfZSALES')!
    expect(info.entitySet).toBe('EntityOfZSALES')
    expect(info.deltaCapable).toBe(true)
    expect(info.keyFields).toEqual(['VBELN', 'POSNR'])
    expect(info.filterable).toEqual(['VBELN', 'POSNR', 'ARKTX', 'WAERK', 'VRKME', 'ERDAT', 'ERZET', 'AEDAT'])
    expect(info.columns).toEqual([
      { name: 'VBELN', type: { kind: 'string', maxLength: 10 }, nullable: false, key: true, label: 'Sales Doc.', sourceType: 'Edm.String' },
      { name: 'POSNR', type: { kind: 'string', maxLength: 6 }, nullable: false, key: true, label: 'Item', sourceType: 'Edm.String' },
      {
        name: 'ARKTX',
        type: { kind: 'string', maxLength: 40 },
        nullable: true,
        key: false,
        label: 'Beschreibung & Text',
        sourceType: 'Edm.String',
      },
      {
        name: 'NETWR',
        type: { kind: 'decimal', precision: 15, scale: 2 },
        nullable: false,
        key: false,
        unit: 'WAERK',
        sourceType: 'Edm.Decimal',
      },
      {
        name: 'WAERK',
        type: { kind: 'string', maxLength: 5 },
        nullable: false,
        key: false,
        semantics: 'currency-code',
        sourceType: 'Edm.String',
      },
      {
        name: 'KWMENG',
        type: { kind: 'decimal', precision: 13, scale: 3 },
        nullable: true,
        key: false,
        unit: 'VRKME',
        sourceType: 'Edm.Decimal',
      },
      {
        name: 'VRKME',
        type: { kind: 'string', maxLength: 3 },
        nullable: true,
        key: false,
        semantics: 'unit-of-measure',
        sourceType: 'Edm.String',
      },
      // Nullable="false" in SAP, yet '00000000' must arrive as null: date/time columns are nullable.
      { name: 'ERDAT', type: { kind: 'date' }, nullable: true, key: false, sourceType: 'Edm.DateTime' },
      { name: 'ERZET', type: { kind: 'time' }, nullable: true, key: false, sourceType: 'Edm.Time' },
      { name: 'AEDAT', type: { kind: 'timestamp' }, nullable: true, key: false, sourceType: 'Edm.DateTime' },
      {
        name: 'ODQ_CHANGEMODE',
        type: { kind: 'string', maxLength: 1 },
        nullable: false,
        key: false,
        semantics: 'change-mode',
        sourceType: 'Edm.String',
      },
      {
        name: 'ODQ_ENTITYCNTR',
        type: { kind: 'decimal', precision: 37, scale: 0 },
        nullable: false,
        key: false,
        semantics: 'entity-counter',
        sourceType: 'Edm.Decimal',
      },
    ])
  })

  it('maps every EDM type; ODQ semantics are filled in by name when the annotation is missing', () => {
    const logs: string[] = []
    const md = new ServiceMetadata(xml, (level, msg) => logs.push(`${level}: ${msg}`))
    const info = md.info('FactsOfZTYPES')!
    const kinds = Object.fromEntries(info.columns.map((c) => [c.name, c.type]))
    expect(kinds).toEqual({
      ID: { kind: 'string', maxLength: 10 },
      F_INT16: { kind: 'int16' },
      F_INT32: { kind: 'int32' },
      F_INT64: { kind: 'int64' },
      F_BYTE: { kind: 'uint8' },
      F_SBYTE: { kind: 'int8' },
      F_DOUBLE: { kind: 'double' },
      F_SINGLE: { kind: 'double' },
      F_BOOL: { kind: 'boolean' },
      F_BIN: { kind: 'binary', maxLength: 16 },
      F_GUID: { kind: 'guid' },
      F_TSO: { kind: 'timestamp' },
      F_DEC_NOPREC: { kind: 'decimal', precision: 38, scale: 0 },
      F_DEC_VAR: { kind: 'decimal', precision: 34, scale: 10 },
      ODQ_CHANGEMODE: { kind: 'string', maxLength: 1 },
      ODQ_ENTITYCNTR: { kind: 'decimal', precision: 37, scale: 0 },
    })
    expect(info.columns.find((c) => c.name === 'ODQ_CHANGEMODE')!.semantics).toBe('change-mode')
    expect(info.columns.find((c) => c.name === 'ODQ_ENTITYCNTR')!.semantics).toBe('entity-counter')
    expect(info.keyFields).toEqual(['ID'])
    // No sap:change-tracking and no DeltaLinksOf set: not delta-capable.
    expect(info.deltaCapable).toBe(false)
    expect(logs).toEqual([
      'warn: $metadata: FactsOfZTYPES.F_DEC_NOPREC is Edm.Decimal without Precision; using 38',
      'warn: $metadata: FactsOfZTYPES.F_DEC_VAR has Scale="variable"; using 10',
    ])
  })

  it('an unsupported property type fails only its own entity set, naming the property', () => {
    const md = new ServiceMetadata(xml)
    expect(() => md.info('EntityOfZBROKEN')).toThrow(SourceError)
    expect(() => md.info('EntityOfZBROKEN')).toThrow('EntityOfZBROKEN.SHAPE has type Edm.GeographyPoint')
    expect(md.info('EntityOfZSALES')).toBeDefined()
    expect(md.info('Nope')).toBeUndefined()
  })

  it('resolves the SAP annotation prefix from its namespace, whatever it is called', () => {
    const renamed = xml.replaceAll('xmlns:sap=', 'xmlns:s=').replaceAll(' sap:', ' s:')
    const info = new ServiceMetadata(renamed).info('EntityOfZSALES')!
    expect(info.columns.find((c) => c.name === 'ERDAT')!.type).toEqual({ kind: 'date' })
    expect(info.filterable).not.toContain('NETWR')
  })

  it('rejects documents that are not EDMX', () => {
    expect(() => new ServiceMetadata('<html><body>Logon</body></html>')).toThrow(/no edmx:Edmx/)
    expect(() => new ServiceMetadata('')).toThrow(SourceError)
  })
})
