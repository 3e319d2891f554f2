/**
 * `$metadata` (EDMX, CSDL v2 with SAP annotations) → the column model (docs/sap-protocols.md §A.2, §A.5).
 * Entity sets are mapped lazily, so one property of an unsupported type only breaks the set that has it.
 */
import { XMLParser } from 'fast-xml-parser'
import { SourceError } from '../errors.js'
import { CHANGE_MODE_COLUMN, ENTITY_COUNTER_COLUMN, type Column, type ColumnType } from '../fields.js'
import type { SapLog } from '../log.js'
import type { EntitySetInfo } from './types.js'

const SAP_NS = 'http://www.sap.com/Protocols/SAPData'
/** Largest precision Parquet readers commonly accept (DuckDB, Spark, Arrow decimal128). */
const DEFAULT_DECIMAL_PRECISION = 38
/** For `Scale="variable"` (DECFLOAT): wide enough for business amounts, still exact or loud. */
const VARIABLE_DECIMAL_SCALE = 10
export const DELTA_LINKS_PREFIX = 'DeltaLinksOf'

type XmlNode = Record<string, unknown>

const ARRAY_TAGS = new Set([
  'Schema',
  'EntityType',
  'ComplexType',
  'Property',
  'PropertyRef',
  'NavigationProperty',
  'EntityContainer',
  'EntitySet',
  'AssociationSet',
  'Association',
  'FunctionImport',
  'Parameter',
])
const localName = (tag: string): string => tag.slice(tag.indexOf(':') + 1)

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@',
  parseAttributeValue: false,
  parseTagValue: false,
  // Element prefixes differ between releases (edmx:, none); SAP attributes keep theirs (resolved below).
  transformTagName: localName,
  isArray: (tag, _path, _leaf, isAttribute) => !isAttribute && ARRAY_TAGS.has(localName(tag)),
})

interface RawSet {
  name: string
  attrs: XmlNode
  type: XmlNode | undefined
  typeName: string
}

/** Parsed `$metadata` of one service; entity sets mapped to {@link EntitySetInfo} on first use. */
export class ServiceMetadata {
  private readonly sets = new Map<string, RawSet>()
  private readonly mapped = new Map<string, EntitySetInfo>()
  private readonly sap: string

  constructor(
    xml: string,
    private readonly log?: SapLog,
  ) {
    let doc: XmlNode
    try {
      doc = parser.parse(xml) as XmlNode
    } catch (e) {
      throw new SourceError('SOURCE_PROTOCOL', `$metadata is not well-formed XML: ${(e as Error).message}`, { cause: e })
    }
    const edmx = doc['Edmx'] as XmlNode | undefined
    const ds = edmx?.['DataServices'] as XmlNode | undefined
    const schemas = (ds?.['Schema'] as XmlNode[] | undefined) ?? []
    if (!edmx || schemas.length === 0)
      throw new SourceError('SOURCE_PROTOCOL', '$metadata has no edmx:Edmx/DataServices/Schema (is the URL an OData v2 service?)')
    this.sap = sapPrefix([edmx, ds!, ...schemas])

    const types = new Map<string, XmlNode>()
    for (const s of schemas) {
      const qualifiers = [s['@Namespace'], s['@Alias']].filter((q): q is string => typeof q === 'string')
      for (const t of (s['EntityType'] as XmlNode[] | undefined) ?? []) {
        const name = String(t['@Name'])
        types.set(name, t)
        for (const q of qualifiers) types.set(`${q}.${name}`, t)
      }
    }
    for (const s of schemas) {
      for (const c of (s['EntityContainer'] as XmlNode[] | undefined) ?? []) {
        for (const es of (c['EntitySet'] as XmlNode[] | undefined) ?? []) {
          const typeName = String(es['@EntityType'] ?? '')
          const name = String(es['@Name'])
          this.sets.set(name, {
            name,
            attrs: es,
            typeName,
            type: types.get(typeName) ?? types.get(typeName.slice(typeName.lastIndexOf('.') + 1)),
          })
        }
      }
    }
  }

  /** Every entity set in document order, DeltaLinksOf… included. */
  get entitySetNames(): string[] {
    return [...this.sets.keys()]
  }

  has(name: string): boolean {
    return this.sets.has(name)
  }

  /** The mapped entity set, or undefined when the service has no such set. */
  info(name: string): EntitySetInfo | undefined {
    const cached = this.mapped.get(name)
    if (cached) return cached
    const raw = this.sets.get(name)
    if (!raw) return undefined
    const info = this.map(raw)
    this.mapped.set(name, info)
    return info
  }

  private attr(node: XmlNode, sapName: string): string | undefined {
    const v = node[`@${this.sap}:${sapName}`]
    return typeof v === 'string' ? v : undefined
  }

  private map(raw: RawSet): EntitySetInfo {
    if (!raw.type)
      throw new SourceError('SOURCE_PROTOCOL', `$metadata: entity type ${raw.typeName} of entity set ${raw.name} is not defined`)
    const keyRefs = ((raw.type['Key'] as XmlNode | undefined)?.['PropertyRef'] as XmlNode[] | undefined) ?? []
    const entityKey = new Set(keyRefs.map((r) => String(r['@Name'])))
    const columns: Column[] = []
    const filterable: string[] = []
    for (const p of (raw.type['Property'] as XmlNode[] | undefined) ?? []) {
      const name = String(p['@Name'])
      const edmType = String(p['@Type'] ?? '')
      const type = this.columnType(raw.name, name, edmType, p)
      const odq = name === CHANGE_MODE_COLUMN || name === ENTITY_COUNTER_COLUMN
      const semantics =
        this.attr(p, 'semantics') ??
        (name === CHANGE_MODE_COLUMN ? 'change-mode' : name === ENTITY_COUNTER_COLUMN ? 'entity-counter' : undefined)
      const col: Column = {
        name,
        type,
        // DATS/TIMS are NOT NULL in the DDIC, yet '00000000' must become null (docs/architecture.md#rule-4).
        nullable: type.kind === 'date' || type.kind === 'time' || p['@Nullable'] !== 'false',
        key: entityKey.has(name) && !odq,
        sourceType: edmType,
      }
      const label = this.attr(p, 'label')
      const unit = this.attr(p, 'unit')
      if (label !== undefined) col.label = label
      if (semantics !== undefined) col.semantics = semantics
      if (unit !== undefined) col.unit = unit
      columns.push(col)
      if (this.attr(p, 'filterable') !== 'false') filterable.push(name)
    }
    return {
      entitySet: raw.name,
      columns,
      deltaCapable: this.attr(raw.attrs, 'change-tracking') === 'true' || this.sets.has(DELTA_LINKS_PREFIX + raw.name),
      filterable,
      keyFields: columns.filter((c) => c.key).map((c) => c.name),
    }
  }

  private columnType(es: string, prop: string, edmType: string, p: XmlNode): ColumnType {
    const maxLength = intAttr(p['@MaxLength'])
    switch (edmType) {
      case 'Edm.String':
        return maxLength === undefined ? { kind: 'string' } : { kind: 'string', maxLength }
      case 'Edm.Decimal':
        return this.decimalType(es, prop, p)
      case 'Edm.SByte':
        return { kind: 'int8' }
      case 'Edm.Byte':
        return { kind: 'uint8' }
      case 'Edm.Int16':
        return { kind: 'int16' }
      case 'Edm.Int32':
        return { kind: 'int32' }
      case 'Edm.Int64':
        return { kind: 'int64' }
      case 'Edm.Double':
      case 'Edm.Single':
        return { kind: 'double' }
      case 'Edm.Boolean':
        return { kind: 'boolean' }
      case 'Edm.DateTime':
        return this.attr(p, 'display-format') === 'Date' ? { kind: 'date' } : { kind: 'timestamp' }
      case 'Edm.DateTimeOffset':
        return { kind: 'timestamp' }
      case 'Edm.Time':
        return { kind: 'time' }
      case 'Edm.Binary':
        return maxLength === undefined ? { kind: 'binary' } : { kind: 'binary', maxLength }
      case 'Edm.Guid':
        return { kind: 'guid' }
      default:
        throw new SourceError(
          'SOURCE_PROTOCOL',
          `$metadata: property ${es}.${prop} has type ${edmType || '(none)'}, which an ODP extraction cannot carry`,
        )
    }
  }

  private decimalType(es: string, prop: string, p: XmlNode): ColumnType {
    let precision = intAttr(p['@Precision'])
    const scaleText = p['@Scale']
    let scale = intAttr(scaleText)
    if (precision === undefined) {
      precision = DEFAULT_DECIMAL_PRECISION
      this.log?.('warn', `$metadata: ${es}.${prop} is Edm.Decimal without Precision; using ${precision}`, { entitySet: es, property: prop })
    }
    if (scale === undefined) {
      // CSDL's default scale is 0; a non-numeric one ("variable", DECFLOAT) gets a wide fixed scale.
      scale = scaleText === undefined ? 0 : Math.min(VARIABLE_DECIMAL_SCALE, precision)
      if (scaleText !== undefined)
        this.log?.('warn', `$metadata: ${es}.${prop} has Scale="${String(scaleText)}"; using ${scale}`, { entitySet: es, property: prop })
    }
    if (scale > precision) throw new SourceError('SOURCE_PROTOCOL', `$metadata: ${es}.${prop} has Scale ${scale} > Precision ${precision}`)
    return { kind: 'decimal', precision, scale }
  }
}

function intAttr(v: unknown): number | undefined {
  return typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : undefined
}

/** The prefix bound to SAP's annotation namespace (always `sap` in practice; resolved to be sure). */
function sapPrefix(nodes: XmlNode[]): string {
  for (const n of nodes) {
    for (const [k, v] of Object.entries(n)) {
      if (k.startsWith('@xmlns:') && v === SAP_NS) return k.slice('@xmlns:'.length)
    }
  }
  return 'sap'
}
