import { describe, expect, it } from 'vitest'
import { changeLogColumns, LakeTableError } from '../../src/lake/iceberg/index.js'
import { evolveSchema, initialSchema, schemaHash } from '../../src/lake/iceberg/schema.js'
import type { Column } from '../../src/sap/fields.js'

const c = (name: string, type: Column['type'], nullable = true, key = false): Column => ({ name, type, nullable, key })
const base = [
  c('MATNR', { kind: 'string' }, false, true),
  c('MENGE', { kind: 'int32' }),
  c('PREIS', { kind: 'decimal', precision: 11, scale: 2 }),
  c('ALT', { kind: 'string' }, false),
]

describe('Iceberg schema from the column model', () => {
  it('numbers fields 1…n in column order, with required keys as identifier fields', () => {
    const { schema, lastColumnId } = initialSchema(base)
    expect(lastColumnId).toBe(4)
    expect(schema).toEqual({
      type: 'struct',
      'schema-id': 0,
      'identifier-field-ids': [1],
      fields: [
        { id: 1, name: 'MATNR', required: true, type: 'string' },
        { id: 2, name: 'MENGE', required: false, type: 'int' },
        { id: 3, name: 'PREIS', required: false, type: 'decimal(11,2)' },
        { id: 4, name: 'ALT', required: true, type: 'string' },
      ],
    })
  })

  it('evolves by Iceberg rules: added optional fields after last-column-id, int → long, a dropped required field made optional', () => {
    const { schema, lastColumnId } = initialSchema(base)
    const next = [
      c('MATNR', { kind: 'string' }, false, true),
      c('MENGE', { kind: 'int64' }),
      c('PREIS', { kind: 'decimal', precision: 11, scale: 2 }),
      c('NEU', { kind: 'date' }, false),
    ]
    // last-column-id 7: ids of fields dropped earlier are never reused.
    const out = evolveSchema(schema, lastColumnId + 3, next)
    expect(out.diff).toEqual({ added: ['NEU'], removed: ['ALT'], promoted: ['MENGE: int → long'], incompatible: [] })
    expect(out.lastColumnId).toBe(8)
    expect(out.schema?.['schema-id']).toBe(1)
    expect(out.schema?.fields).toEqual([
      { id: 1, name: 'MATNR', required: true, type: 'string' },
      { id: 2, name: 'MENGE', required: false, type: 'long' },
      { id: 3, name: 'PREIS', required: false, type: 'decimal(11,2)' },
      { id: 4, name: 'ALT', required: false, type: 'string' },
      // A new field is optional even when the source says it is not nullable: older files lack it.
      { id: 8, name: 'NEU', required: false, type: 'date' },
    ])
    expect(out.schema?.['identifier-field-ids']).toEqual([1])
    expect(schemaHash(out.schema!)).not.toBe(schemaHash(schema))
  })

  it('proposes no new schema when nothing changes, nor for a dropped optional field', () => {
    const { schema, lastColumnId } = initialSchema(base)
    expect(evolveSchema(schema, lastColumnId, base).schema).toBeNull()
    const dropped = evolveSchema(
      schema,
      lastColumnId,
      base.filter((x) => x.name !== 'MENGE'),
    )
    expect(dropped).toMatchObject({ schema: null, lastColumnId: 4, diff: { removed: ['MENGE'] } })
  })

  it('reports narrowing, a changed decimal scale and a kind change as incompatible, and proposes nothing', () => {
    const { schema, lastColumnId } = initialSchema(base)
    const changed = [
      c('MATNR', { kind: 'int32' }, false, true),
      c('MENGE', { kind: 'int32' }),
      c('PREIS', { kind: 'decimal', precision: 13, scale: 3 }),
      c('ALT', { kind: 'string' }, false),
    ]
    const out = evolveSchema(schema, lastColumnId, changed)
    expect(out.schema).toBeNull()
    expect(out.diff.incompatible).toEqual(['MATNR: string → int', 'PREIS: decimal(11,2) → decimal(13,3)'])
  })

  it('refuses a source column that takes a change-log column name, and adds the ODQ columns a full load lacks', () => {
    expect(() => changeLogColumns([c('_RUN_ID', { kind: 'string' })])).toThrow(LakeTableError)
    expect(changeLogColumns(base).map((x) => x.name)).toEqual([
      'MATNR',
      'MENGE',
      'PREIS',
      'ALT',
      'ODQ_CHANGEMODE',
      'ODQ_ENTITYCNTR',
      '_RUN_ID',
      '_EXTRACTED_AT',
    ])
  })
})
