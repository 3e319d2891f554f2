import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { SapSimulator } from '../../src/simulator/index.js'
import { DEMO_SERVICE, MATERIALS, SALES_ITEMS, startSapSimulator, TYPES_SET } from '../../src/simulator/index.js'
import { expectSapError, get, parseMetadata } from './helpers.js'

let sim: SapSimulator
beforeEach(async () => {
  sim = await startSapSimulator()
})
afterEach(async () => {
  await sim.close()
})

type Xml = any

describe('$metadata', () => {
  it('declares the ODP artefacts of A.2 for both entity sets', async () => {
    const reply = await get(`${sim.serviceUrl}/$metadata`)
    expect(reply.status).toBe(200)
    expect(reply.headers.get('content-type')).toMatch(/application\/xml/)
    const doc = parseMetadata(reply.text)
    const edmx = doc['edmx:Edmx']
    expect(edmx['@xmlns:sap']).toBe('http://www.sap.com/Protocols/SAPData')
    expect(edmx['@xmlns:m']).toBe('http://schemas.microsoft.com/ado/2007/08/dataservices/metadata')
    expect(edmx['edmx:DataServices']['@m:DataServiceVersion']).toBe('2.0')
    const schema = edmx['edmx:DataServices'].Schema
    expect(schema['@Namespace']).toBe(DEMO_SERVICE)
    const types = new Map<string, Xml>(schema.EntityType.map((t: Xml) => [t['@Name'], t]))

    const sales = types.get(SALES_ITEMS)
    expect(sales.Key.PropertyRef.map((r: Xml) => r['@Name'])).toEqual(['VBELN', 'POSNR', 'ODQ_CHANGEMODE', 'ODQ_ENTITYCNTR'])
    const prop = (t: Xml, name: string): Xml => t.Property.find((p: Xml) => p['@Name'] === name)
    expect(prop(sales, 'VBELN')).toMatchObject({ '@Type': 'Edm.String', '@MaxLength': '10', '@Nullable': 'false' })
    expect(prop(sales, 'ERDAT')).toMatchObject({
      '@Type': 'Edm.DateTime',
      '@Precision': '7',
      '@sap:display-format': 'Date',
      '@Nullable': 'true',
    })
    expect(prop(sales, 'ERZET')).toMatchObject({ '@Type': 'Edm.Time', '@Precision': '0' })
    expect(prop(sales, 'NETWR')).toMatchObject({
      '@Type': 'Edm.Decimal',
      '@Precision': '15',
      '@Scale': '2',
      '@sap:unit': 'WAERK',
      '@sap:filterable': 'false',
    })
    expect(prop(sales, 'KWMENG')).toMatchObject({ '@Precision': '13', '@Scale': '3', '@sap:unit': 'VRKME', '@sap:filterable': 'false' })
    expect(prop(sales, 'WAERK')['@sap:semantics']).toBe('currency-code')
    expect(prop(sales, 'VRKME')['@sap:semantics']).toBe('unit-of-measure')
    expect(prop(sales, 'ODQ_CHANGEMODE')).toMatchObject({
      '@Type': 'Edm.String',
      '@MaxLength': '1',
      '@sap:semantics': 'change-mode',
      '@sap:filterable': 'false',
    })
    expect(prop(sales, 'ODQ_ENTITYCNTR')).toMatchObject({
      '@Type': 'Edm.Decimal',
      '@Precision': '37',
      '@Scale': '0',
      '@sap:semantics': 'entity-counter',
      '@sap:filterable': 'false',
    })

    const typesSet = types.get(TYPES_SET)
    const edm = typesSet.Property.map((p: Xml) => p['@Type'])
    for (const t of [
      'Edm.String',
      'Edm.Int16',
      'Edm.Int32',
      'Edm.Int64',
      'Edm.Byte',
      'Edm.Double',
      'Edm.Boolean',
      'Edm.Binary',
      'Edm.Guid',
      'Edm.DateTime',
      'Edm.DateTimeOffset',
      'Edm.Time',
      'Edm.Decimal',
    ]) {
      expect(edm).toContain(t)
    }
    expect(prop(typesSet, 'DEC31')).toMatchObject({ '@Precision': '31', '@Scale': '14' })
    expect(prop(typesSet, 'TIMS')).toMatchObject({ '@Type': 'Edm.Time', '@Precision': '3' })
    // nullable properties of the FactsOf set leave Nullable implicit (EDM default true)
    expect(prop(typesSet, 'INT8')['@Nullable']).toBeUndefined()

    // the master-data attributes set: the characteristic is the key, the ODQ fields follow it
    const attr = types.get(MATERIALS)
    expect(attr.Key.PropertyRef.map((r: Xml) => r['@Name'])).toEqual(['MATNR', 'ODQ_CHANGEMODE', 'ODQ_ENTITYCNTR'])
    expect(prop(attr, 'MATNR')).toMatchObject({ '@Type': 'Edm.String', '@MaxLength': '18', '@Nullable': 'false' })
    expect(prop(attr, 'BRGEW')).toMatchObject({ '@Type': 'Edm.Decimal', '@Precision': '13', '@Scale': '3', '@sap:unit': 'GEWEI' })

    for (const es of [SALES_ITEMS, TYPES_SET, MATERIALS]) {
      const links = types.get(`DeltaLinksOf${es}`)
      expect(links.Key.PropertyRef.map((r: Xml) => r['@Name'])).toEqual(['DeltaToken'])
      expect(prop(links, 'CreatedAt')).toMatchObject({ '@Type': 'Edm.DateTime', '@Precision': '0' })
      expect(prop(links, 'IsInitialLoad')['@Type']).toBe('Edm.Boolean')
      const nav = links.NavigationProperty[0]
      expect(nav['@Name']).toBe('ChangesAfter')
      const assocName = es[0].toLowerCase() + es.slice(1)
      expect(nav['@Relationship']).toBe(`${DEMO_SERVICE}.${assocName}`)
      const assoc = schema.Association.find((a: Xml) => a['@Name'] === assocName)
      expect(assoc.End.map((e: Xml) => [e['@Type'], e['@Multiplicity']])).toEqual([
        [`${DEMO_SERVICE}.DeltaLinksOf${es}`, '1'],
        [`${DEMO_SERVICE}.${es}`, '*'],
      ])
    }

    expect(schema.ComplexType.map((c: Xml) => c['@Name']).sort()).toEqual(['ChangeTrackingDetails', 'SubscriptionTerminationDetails'])
    const container = schema.EntityContainer
    expect(container['@sap:supported-formats']).toBe('atom json xlsx')
    const set = container.EntitySet.find((s: Xml) => s['@Name'] === SALES_ITEMS)
    expect(set).toMatchObject({
      '@sap:change-tracking': 'true',
      '@sap:maxpagesize': '2000000000',
      '@EntityType': `${DEMO_SERVICE}.${SALES_ITEMS}`,
    })
    const imports = new Map<string, Xml>(container.FunctionImport.map((f: Xml) => [f['@Name'], f]))
    expect(imports.get(`SubscribedTo${SALES_ITEMS}`)).toMatchObject({
      '@ReturnType': `${DEMO_SERVICE}.ChangeTrackingDetails`,
      '@m:HttpMethod': 'GET',
    })
    expect(imports.get(`TerminateDeltasFor${TYPES_SET}`)).toMatchObject({
      '@ReturnType': `${DEMO_SERVICE}.SubscriptionTerminationDetails`,
      '@m:HttpMethod': 'GET',
    })
  })
})

describe('service document and unknown resources', () => {
  it('lists every entity set in the JSON service document', async () => {
    const reply = await get(`${sim.serviceUrl}/?$format=json`)
    expect(reply.status).toBe(200)
    expect(reply.json).toEqual({
      d: {
        EntitySets: [
          SALES_ITEMS,
          `DeltaLinksOf${SALES_ITEMS}`,
          TYPES_SET,
          `DeltaLinksOf${TYPES_SET}`,
          MATERIALS,
          `DeltaLinksOf${MATERIALS}`,
        ],
      },
    })
  })

  it('answers the AtomPub service document without $format', async () => {
    const reply = await get(`${sim.serviceUrl}/`)
    expect(reply.status).toBe(200)
    expect(reply.text).toContain(`<app:collection href="${SALES_ITEMS}">`)
  })

  it('404s an unknown service and an unknown entity set with a SAP error body', async () => {
    const svc = expectSapError(await get(`${sim.url}/sap/opu/odata/sap/ZNOPE_SRV/$metadata`), 404, /No service found/)
    expect(svc.code).toBe('/IWFND/MED/170')
    const es = expectSapError(
      await get(`${sim.serviceUrl}/EntityOfNOPE?$format=json`),
      404,
      /Resource not found for the segment 'EntityOfNOPE'/,
    )
    expect(es.details[0].message).toBe(es.message)
  })

  it('refuses to read one entity by key (not implemented in ODP providers)', async () => {
    const reply = await get(`${sim.serviceUrl}/${TYPES_SET}(ID=1,ODQ_CHANGEMODE='',ODQ_ENTITYCNTR=0M)?$format=json`)
    expectSapError(reply, 501, /GET_ENTITY' not implemented/)
  })

  it('answers 406 when the client asks for neither $format=json nor JSON in Accept', async () => {
    expectSapError(await get(`${sim.serviceUrl}/${SALES_ITEMS}`), 406, /JSON only/)
    const ok = await get(`${sim.serviceUrl}/${TYPES_SET}`, { accept: 'application/json' })
    expect(ok.status).toBe(200)
    expect(ok.json.d.results).toHaveLength(60)
  })

  it('counts with $count and answers the catalog service', async () => {
    const count = await get(`${sim.serviceUrl}/${SALES_ITEMS}/$count`)
    expect(count.text).toBe('2500')
    const cat = await get(`${sim.url}/sap/opu/odata/iwfnd/catalogservice;v=2/ServiceCollection?$expand=EntitySets&$format=json`)
    expect(cat.json.d.results[0].TechnicalServiceName).toBe(DEMO_SERVICE)
    expect(cat.json.d.results[0].EntitySets.results.map((e: { ID: string }) => e.ID)).toContain(SALES_ITEMS)
  })
})
