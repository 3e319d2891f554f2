import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { ChangeRef, SapSimulator } from '../../src/simulator/index.js'
import { SALES_ITEMS, startSapSimulator } from '../../src/simulator/index.js'
import { collect, expectSapError, get, readAll } from './helpers.js'

let sim: SapSimulator
beforeEach(async () => {
  sim = await startSapSimulator({ rows: { [SALES_ITEMS]: 12 } })
})
afterEach(async () => {
  await sim.close()
})

async function admin(method: string, path: string, body?: unknown): Promise<{ status: number; json: any; text: string }> {
  const res = await fetch(`${sim.url}/sim/admin/${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  })
  const text = await res.text()
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch {
    json = undefined
  }
  return { status: res.status, json, text }
}

describe('HTTP admin API', () => {
  it('changes data so that a delta sees it', async () => {
    const link = (await readAll(`${sim.serviceUrl}/${SALES_ITEMS}?$format=json`, { prefer: 'odata.track-changes' })).deltaLink!
    const ins = await admin('POST', `entity-sets/${SALES_ITEMS}/insert`, { count: 2 })
    expect(ins.status).toBe(200)
    expect((ins.json as ChangeRef[]).map((c) => c.mode)).toEqual(['C', 'C'])
    const upd = await admin('POST', `entity-sets/${SALES_ITEMS}/update`, { keys: [{ VBELN: '0000000001', POSNR: '000010' }] })
    expect(upd.json[0].key).toEqual({ VBELN: '0000000001', POSNR: '000010' })
    const del = await admin('POST', `entity-sets/${SALES_ITEMS}/delete`, { count: 1 })
    expect(del.json[0].mode).toBe('D')
    expect((await admin('GET', `entity-sets/${SALES_ITEMS}`)).json).toEqual({ entitySet: SALES_ITEMS, rowCount: 13 })
    expect((await admin('GET', `entity-sets/${SALES_ITEMS}/changes`)).json.map((c: ChangeRef) => c.seq)).toEqual([1, 2, 3, 4])

    const d = await readAll(`${link}&$format=json`)
    expect(d.rows.map((r) => r.ODQ_CHANGEMODE)).toEqual(['C', 'C', 'U', 'U', 'D'])

    const subs = await admin('GET', 'subscriptions')
    expect(subs.json[0]).toMatchObject({ user: 'DEMO', entitySet: SALES_ITEMS })
    expect(subs.json[0].tokens).toHaveLength(2)
  })

  it('adds and drops a field mid-life: $metadata, full reads and delta reads follow, initial in the rows that existed', async () => {
    const link = (await readAll(`${sim.serviceUrl}/${SALES_ITEMS}?$format=json`, { prefer: 'odata.track-changes' })).deltaLink!
    const add = await admin('POST', `entity-sets/${SALES_ITEMS}/fields`, { name: 'ZZNOTE', type: { abap: 'CHAR', length: 8 } })
    expect(add).toMatchObject({ status: 200, json: { ok: true } })
    const metadata = (await get(`${sim.serviceUrl}/$metadata`)).text
    expect(metadata).toMatch(/<Property Name="ZZNOTE" Type="Edm.String" Nullable="false" MaxLength="8"/)
    const [changed] = (await admin('POST', `entity-sets/${SALES_ITEMS}/update`, { count: 1 })).json as ChangeRef[]
    const full = await readAll(`${sim.serviceUrl}/${SALES_ITEMS}?$format=json`)
    expect(full.rows).toHaveLength(12)
    for (const r of full.rows)
      expect(r.ZZNOTE).toBe(r.VBELN === changed.key.VBELN && r.POSNR === changed.key.POSNR ? changed.after!.ZZNOTE : '')
    expect(changed.after!.ZZNOTE).not.toBe('')
    const delta = await readAll(`${link}&$format=json`)
    expect(delta.rows.map((r) => r.ZZNOTE)).toEqual(['', changed.after!.ZZNOTE])

    expect((await admin('DELETE', `entity-sets/${SALES_ITEMS}/fields/ARKTX`)).status).toBe(200)
    expect((await get(`${sim.serviceUrl}/$metadata`)).text).not.toMatch(/Name="ARKTX"/)
    expect((await readAll(`${sim.serviceUrl}/${SALES_ITEMS}?$format=json`)).rows.every((r) => !('ARKTX' in r))).toBe(true)
    // a key field cannot go, nor a field twice
    expect((await admin('DELETE', `entity-sets/${SALES_ITEMS}/fields/VBELN`)).status).toBe(400)
    expect((await admin('POST', `entity-sets/${SALES_ITEMS}/fields`, { name: 'ZZNOTE', type: { abap: 'INT4' } })).status).toBe(400)
  })

  it('streams the table as NDJSON in key order', async () => {
    const res = await fetch(`${sim.url}/sim/admin/entity-sets/${SALES_ITEMS}/rows`)
    expect(res.headers.get('content-type')).toMatch(/ndjson/)
    const lines = (await res.text())
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l))
    expect(lines).toEqual(await collect(sim.admin.rows(SALES_ITEMS)))
  })

  it('sets variants, injects and clears faults, expires tokens and reports stats', async () => {
    const v = await admin('POST', 'variants', { tokenPlacement: 'absent', expiredTokenStatus: 400 })
    expect(v.json).toMatchObject({ tokenPlacement: 'absent', expiredTokenStatus: 400, tokenQuoted: true })
    expect((await admin('POST', 'variants', { tokenPlacement: 'sideways' })).status).toBe(400)
    expect((await admin('POST', 'variants', { nope: true })).status).toBe(400)

    const init = await readAll(`${sim.serviceUrl}/${SALES_ITEMS}?$format=json`, { prefer: 'odata.track-changes' })
    expect(init.deltaLink).toBeUndefined()
    const token = (await admin('GET', 'subscriptions')).json[0].tokens[0]
    expect((await admin('POST', `entity-sets/${SALES_ITEMS}/expire-tokens`, {})).json).toEqual({ ok: true })
    expectSapError(await get(`${sim.serviceUrl}/${SALES_ITEMS}?$format=json&!deltatoken='${token}'`), 400, /Delta token/)

    expect((await admin('POST', 'faults', { kind: 'http-503', page: 1, retryAfterSeconds: 2 })).json).toEqual({ ok: true })
    expect((await get(`${sim.serviceUrl}/${SALES_ITEMS}?$format=json`)).status).toBe(503)
    await admin('POST', 'faults', { kind: 'http-503', page: 1 })
    expect((await admin('DELETE', 'faults')).json).toEqual({ ok: true })
    expect((await get(`${sim.serviceUrl}/${SALES_ITEMS}?$format=json`)).status).toBe(200)
    expect((await admin('POST', 'faults', { kind: 'meteor', page: 1 })).status).toBe(400)

    const stats = (await admin('GET', 'stats')).json
    expect(stats).toMatchObject({ faultsFired: 1, dataPages: 2 })
    expect(stats.requests).toBe(4)
    expect((await admin('GET', 'open-requests')).json).toEqual({ openRequests: 0 })
  })

  it('answers 404 for unknown routes and entity sets, 400 for bad bodies', async () => {
    expect((await admin('GET', 'nope')).status).toBe(404)
    expect((await admin('POST', 'entity-sets/EntityOfNOPE/insert', { count: 1 })).status).toBe(404)
    const bad = await admin('POST', `entity-sets/${SALES_ITEMS}/update`, { keys: [{ VBELN: '9999999999', POSNR: '000010' }] })
    expect(bad.status).toBe(400)
    expect(bad.json.error).toMatch(/no row with key/)
    expect((await admin('POST', `entity-sets/${SALES_ITEMS}/insert`, { count: -1 })).status).toBe(400)
  })
})
