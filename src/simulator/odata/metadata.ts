/**
 * `$metadata` and the service document of the demo service, shaped like the metadata SAP generates for
 * ODP services (docs/sap-protocols.md A.2; real example: erpl-web test/cpp/edm_sap_odp_bw_fact.xml): ODQ
 * fields in the key, `sap:` annotations, DeltaLinksOf sets with the ChangesAfter navigation, and the two
 * function imports declared `m:HttpMethod="GET"`.
 */
import type { EntityDef, FieldDef } from '../model/fields.js'
import { allProperties } from '../model/fields.js'
import { ENTITY_DEFS } from '../model/entitySets.js'

function esc(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/"/g, '&quot;')
}

function lowerFirst(name: string): string {
  return name[0].toLowerCase() + name.slice(1)
}

/** Association name SAP derives from the entity set: `EntityOfX` → `entityOfX`. */
function associationName(def: EntityDef): string {
  return lowerFirst(def.name)
}

function property(f: FieldDef, implicitNullable: boolean): string {
  const attrs: string[] = [`Name="${f.name}"`, `Type="${f.edm}"`]
  if (!f.nullable) attrs.push('Nullable="false"')
  else if (!implicitNullable) attrs.push('Nullable="true"')
  if (f.maxLength !== undefined) attrs.push(`MaxLength="${f.maxLength}"`)
  if (f.precision !== undefined) attrs.push(`Precision="${f.precision}"`)
  if (f.scale !== undefined) attrs.push(`Scale="${f.scale}"`)
  if (f.aggregationRole) attrs.push(`sap:aggregation-role="${f.aggregationRole}"`)
  if (f.semantics) attrs.push(`sap:semantics="${f.semantics}"`)
  if (f.unit) attrs.push(`sap:unit="${f.unit}"`)
  attrs.push(`sap:label="${esc(f.label)}"`, 'sap:creatable="false"', 'sap:updatable="false"')
  if (f.filterable === false) attrs.push('sap:filterable="false"')
  if (f.displayFormat) attrs.push(`sap:display-format="${f.displayFormat}"`)
  return `<Property ${attrs.join(' ')}/>`
}

function entityTypes(def: EntityDef, ns: string): string {
  const props = allProperties(def)
  // FactsOf sets leave Nullable implicit on nullable properties (the EDM default is true): clients must not
  // assume the attribute is always written.
  const implicitNullable = def.name.startsWith('FactsOf')
  const assoc = associationName(def)
  return [
    `<EntityType Name="${def.name}" sap:content-version="1">`,
    `<Key>${props
      .filter((f) => f.key)
      .map((f) => `<PropertyRef Name="${f.name}"/>`)
      .join('')}</Key>`,
    ...props.map((f) => property(f, implicitNullable)),
    '</EntityType>',
    `<EntityType Name="DeltaLinksOf${def.name}" sap:content-version="1">`,
    '<Key><PropertyRef Name="DeltaToken"/></Key>',
    '<Property Name="DeltaToken" Type="Edm.String" Nullable="false" sap:label="Delta Token" sap:filterable="false"/>',
    '<Property Name="CreatedAt" Type="Edm.DateTime" Nullable="false" Precision="0" sap:label="Created At"/>',
    '<Property Name="IsInitialLoad" Type="Edm.Boolean" Nullable="false" sap:label="Is Initial Load" sap:filterable="false"/>',
    `<NavigationProperty Name="ChangesAfter" Relationship="${ns}.${assoc}" FromRole="FromRole_${assoc}" ToRole="ToRole_${assoc}"/>`,
    '</EntityType>',
  ].join('\n')
}

function association(def: EntityDef, ns: string): string {
  const assoc = associationName(def)
  return [
    `<Association Name="${assoc}" sap:content-version="1">`,
    `<End Type="${ns}.DeltaLinksOf${def.name}" Multiplicity="1" Role="FromRole_${assoc}"/>`,
    `<End Type="${ns}.${def.name}" Multiplicity="*" Role="ToRole_${assoc}"/>`,
    '</Association>',
  ].join('\n')
}

function containerEntries(def: EntityDef, ns: string): string {
  const assoc = associationName(def)
  return [
    `<EntitySet Name="${def.name}" EntityType="${ns}.${def.name}" sap:creatable="false" sap:updatable="false" sap:deletable="false" sap:content-version="1" sap:change-tracking="true" sap:maxpagesize="2000000000"/>`,
    `<EntitySet Name="DeltaLinksOf${def.name}" EntityType="${ns}.DeltaLinksOf${def.name}" sap:content-version="1"/>`,
    `<AssociationSet Name="${assoc}_AssocSet" Association="${ns}.${assoc}" sap:creatable="false" sap:updatable="false" sap:deletable="false" sap:content-version="1">`,
    `<End EntitySet="DeltaLinksOf${def.name}" Role="FromRole_${assoc}"/>`,
    `<End EntitySet="${def.name}" Role="ToRole_${assoc}"/>`,
    '</AssociationSet>',
    `<FunctionImport Name="SubscribedTo${def.name}" ReturnType="${ns}.ChangeTrackingDetails" m:HttpMethod="GET"/>`,
    `<FunctionImport Name="TerminateDeltasFor${def.name}" ReturnType="${ns}.SubscriptionTerminationDetails" m:HttpMethod="GET"/>`,
  ].join('\n')
}

/** The `$metadata` document; `serviceRoot` is the absolute service URL (for the atom:link self links). */
export function metadataXml(ns: string, serviceRoot: string, defs: readonly EntityDef[] = ENTITY_DEFS): string {
  return [
    '<?xml version="1.0" encoding="utf-8"?>',
    '<edmx:Edmx xmlns:edmx="http://schemas.microsoft.com/ado/2007/06/edmx" xmlns:m="http://schemas.microsoft.com/ado/2007/08/dataservices/metadata" xmlns:sap="http://www.sap.com/Protocols/SAPData" Version="1.0">',
    '<edmx:DataServices m:DataServiceVersion="2.0">',
    `<Schema xmlns="http://schemas.microsoft.com/ado/2008/09/edm" Namespace="${ns}" xml:lang="en" sap:schema-version="1">`,
    ...defs.map((d) => entityTypes(d, ns)),
    '<ComplexType Name="ChangeTrackingDetails">',
    '<Property Name="SubscribedFlag" Type="Edm.Boolean" Nullable="false" sap:label="Is Subscribed"/>',
    '</ComplexType>',
    '<ComplexType Name="SubscriptionTerminationDetails">',
    '<Property Name="ResultFlag" Type="Edm.Boolean" Nullable="false" sap:label="Successful Termination of Subscription"/>',
    '</ComplexType>',
    ...defs.map((d) => association(d, ns)),
    `<EntityContainer Name="${ns}_Entities" m:IsDefaultEntityContainer="true" sap:supported-formats="atom json xlsx">`,
    ...defs.map((d) => containerEntries(d, ns)),
    '</EntityContainer>',
    '<Annotation xmlns="http://docs.oasis-open.org/odata/ns/edm" Term="Core.SchemaVersion" String="1.0.0"/>',
    `<atom:link xmlns:atom="http://www.w3.org/2005/Atom" rel="self" href="${esc(serviceRoot)}/$metadata"/>`,
    `<atom:link xmlns:atom="http://www.w3.org/2005/Atom" rel="latest-version" href="${esc(serviceRoot)}/$metadata"/>`,
    '</Schema>',
    '</edmx:DataServices>',
    '</edmx:Edmx>',
    '',
  ].join('\n')
}

/** Entity sets in service-document order. */
export function entitySetNames(): string[] {
  return ENTITY_DEFS.flatMap((d) => [d.name, `DeltaLinksOf${d.name}`])
}

/** AtomPub service document (what SAP answers without $format=json). */
export function serviceDocumentXml(serviceRoot: string): string {
  return [
    '<?xml version="1.0" encoding="utf-8"?>',
    `<app:service xmlns:app="http://www.w3.org/2007/app" xmlns:atom="http://www.w3.org/2005/Atom" xmlns:sap="http://www.sap.com/Protocols/SAPData" xml:lang="en" xml:base="${esc(serviceRoot)}/">`,
    '<app:workspace><atom:title type="text">Data</atom:title>',
    ...entitySetNames().map((n) => `<app:collection href="${n}"><atom:title type="text">${n}</atom:title></app:collection>`),
    '</app:workspace>',
    '</app:service>',
    '',
  ].join('\n')
}

/** Minimal `/sap/opu/odata/iwfnd/catalogservice;v=2/ServiceCollection` answer (A.1 discovery). */
export function catalogJson(origin: string, ns: string, expandEntitySets: boolean): unknown {
  const id = `${ns}_0001`
  const entry: Record<string, unknown> = {
    __metadata: { id: `${origin}/sap/opu/odata/iwfnd/catalogservice;v=2/ServiceCollection('${id}')`, type: 'CATALOGSERVICE.Service' },
    ID: id,
    Description: 'Delta extractor demo ODP service',
    Title: ns,
    TechnicalServiceName: ns,
    TechnicalServiceVersion: 1,
    ServiceUrl: `${origin}/sap/opu/odata/sap/${ns}/`,
  }
  if (expandEntitySets) entry.EntitySets = { results: entitySetNames().map((n) => ({ ID: n })) }
  return { d: { results: [entry] } }
}
