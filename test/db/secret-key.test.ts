import { execFile } from 'node:child_process'
import { chmod, readFile, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterEach, describe, expect, it } from 'vitest'
import { startApp, type AppOptions, type RunningApp } from '../../src/app.js'
import { openDb } from '../../src/db/client.js'
import { dbTarget } from '../../src/db/target.js'
import { silentLogger } from '../../src/util/logger.js'
import { createTestDatabase, type TestDatabase } from '../helpers/database.js'
import { gqlPost, initSocket } from '../helpers/raw-clients.js'

const ROOT = join(import.meta.dirname, '../..')
const KEY_A = 'the-first-key-of-this-test-0001'
const KEY_B = 'the-second-key-of-this-test-002'
const run = promisify(execFile)

let db: TestDatabase
let app: RunningApp | undefined
afterEach(async () => {
  await app?.stop()
  app = undefined
  await db?.drop()
})

const start = (secretKey: string | undefined, over: Partial<AppOptions> = {}) =>
  startApp({ dataDir: db.dataDir, databaseUrl: db.databaseUrl, secretKey, log: silentLogger, ...over })

/** A connection and a destination with secrets, created through the catalogs; returns their ids. */
async function seed(a: RunningApp) {
  const c = await a.services.connections.create({
    name: 'sap',
    protocol: 'ODATA',
    odataConfig: { serviceUrl: 'https://sap.example/sap/opu/odata/sap/Z_SRV', user: 'U', password: 'pw-of-the-connection' },
  })
  const d = await a.services.destinations.create({
    name: 's3',
    kind: 'S3',
    s3: { bucket: 'lake', accessKeyId: 'AKIAEXAMPLE', secretAccessKey: 'secret-of-the-destination' },
  })
  return { connectionId: c.id, destinationId: d.id }
}

async function secretsOf(a: RunningApp, ids: { connectionId: string; destinationId: string }) {
  const { connections, destinations, db: prisma } = a.services
  const password = connections.resolve(await connections.get(ids.connectionId)).secrets.password
  const row = await prisma.destination.findUniqueOrThrow({ where: { id: ids.destinationId } })
  const destination = await destinations.open(row)
  destination.close?.()
  return { password, stored: row.secret }
}

/** The CLI, as an operator runs it. */
async function cli(args: string[], env: Record<string, string | undefined>) {
  const full: NodeJS.ProcessEnv = { ...process.env, DATA_DIR: db.dataDir, LOG_LEVEL: 'error', ...env }
  if (db.databaseUrl) full.DATABASE_URL = db.databaseUrl
  else delete full.DATABASE_URL
  for (const [k, v] of Object.entries(env)) if (v === undefined) delete full[k]
  try {
    const { stdout, stderr } = await run(process.execPath, ['--import', 'tsx', 'src/main.ts', ...args], { cwd: ROOT, env: full })
    return { code: 0, stdout, stderr }
  } catch (e) {
    const x = e as { code: number; stdout: string; stderr: string }
    return { code: x.code, stdout: x.stdout, stderr: x.stderr }
  }
}

describe('SECRET_KEY', () => {
  it('a wrong key refuses to start, naming SECRET_KEY; the right one starts', async () => {
    db = await createTestDatabase()
    app = await start(KEY_A)
    const ids = await seed(app)
    await app.stop()
    app = undefined

    await expect(start(KEY_B)).rejects.toMatchObject({
      name: 'SecretKeyMismatch',
      message: expect.stringContaining('SECRET_KEY does not open the secrets stored in'),
    })
    app = await start(KEY_A)
    expect((await secretsOf(app, ids)).password).toBe('pw-of-the-connection')
  })

  it('checks a database from before the key check against its stored secrets, then records the check', async () => {
    db = await createTestDatabase()
    app = await start(KEY_A)
    await seed(app)
    await app.services.db.keyCheck.deleteMany({}) // as a database written by an earlier version
    await app.stop()
    app = undefined

    await expect(start(KEY_B)).rejects.toThrow('SECRET_KEY does not open 2 of 2 stored secrets')
    app = await start(KEY_A)
    expect(await app.services.db.keyCheck.count()).toBe(1)
  })

  it('`serve` with a wrong key exits at once with the message, no stack trace', async () => {
    db = await createTestDatabase()
    app = await start(KEY_A)
    await seed(app)
    await app.stop()
    app = undefined
    const r = await cli(['serve'], { SECRET_KEY: KEY_B, PORT: '0', SCHEDULER: 'false' })
    expect(r.code).toBe(2)
    expect(r.stderr).toContain('delta-extractor: SECRET_KEY does not open the secrets stored in')
    expect(r.stderr).toContain('rotate-key')
    expect(r.stderr).not.toMatch(/\n\s+at /)
  })
})

describe('rotate-key', () => {
  it('re-encrypts every secret under NEW_SECRET_KEY; afterwards only the new key starts', async () => {
    db = await createTestDatabase()
    app = await start(KEY_A)
    const ids = await seed(app)
    const before = await secretsOf(app, ids)
    await app.stop()
    app = undefined

    const r = await cli(['rotate-key'], { SECRET_KEY: KEY_A, NEW_SECRET_KEY: KEY_B })
    expect(r).toMatchObject({ code: 0 })
    expect(r.stdout).toContain('2 secret(s) re-encrypted under the new key')
    expect(r.stdout).toContain('Set SECRET_KEY')

    await expect(start(KEY_A)).rejects.toThrow('SECRET_KEY does not open')
    app = await start(KEY_B)
    const after = await secretsOf(app, ids)
    expect(after.password).toBe('pw-of-the-connection')
    expect(after.stored).not.toBe(before.stored)
  })

  it('without SECRET_KEY, generates a new DATA_DIR/secret.key (0600) and the service starts on it', async () => {
    db = await createTestDatabase()
    app = await start(undefined)
    const ids = await seed(app)
    await app.stop()
    app = undefined
    const file = join(db.dataDir, 'secret.key')
    const oldKey = (await readFile(file, 'utf8')).trim()

    expect(await cli(['rotate-key'], { SECRET_KEY: undefined, NEW_SECRET_KEY: undefined })).toMatchObject({ code: 0 })
    const newKey = (await readFile(file, 'utf8')).trim()
    expect(newKey).not.toBe(oldKey)
    expect((await stat(file)).mode & 0o777).toBe(0o600)
    await expect(start(oldKey)).rejects.toThrow('SECRET_KEY does not open')
    app = await start(undefined)
    expect((await secretsOf(app, ids)).password).toBe('pw-of-the-connection')
  })

  it('a rotation whose key file was not yet renamed (crash after the commit) is finished by the next start', async () => {
    db = await createTestDatabase()
    app = await start(undefined)
    const ids = await seed(app)
    const file = join(db.dataDir, 'secret.key')
    const oldKey = (await readFile(file, 'utf8')).trim()
    const { SecretBox, writeKeyFile } = await import('../../src/db/secrets.js')
    const { rotateSecrets } = await import('../../src/db/rotate-key.js')
    // rotate-key's steps up to the commit: new key written beside the old one, secrets re-sealed.
    writeKeyFile(`${file}.new`, KEY_B)
    await rotateSecrets(app.services.db, new SecretBox(oldKey), new SecretBox(KEY_B), 'test')
    await app.stop()
    app = undefined

    app = await start(undefined)
    expect((await readFile(file, 'utf8')).trim()).toBe(KEY_B)
    await expect(stat(`${file}.new`)).rejects.toMatchObject({ code: 'ENOENT' })
    expect((await secretsOf(app, ids)).password).toBe('pw-of-the-connection')
  })

  it('changes nothing when one secret cannot be re-encrypted (one transaction)', async () => {
    db = await createTestDatabase()
    app = await start(KEY_A)
    const ids = await seed(app)
    // A destination whose secret was sealed with another key: rotation must stop at it.
    const { SecretBox } = await import('../../src/db/secrets.js')
    const stray = await app.services.db.destination.create({
      data: {
        name: 'stray',
        kind: 'S3',
        config: '{"bucket":"x","prefix":""}',
        secret: new SecretBox('some-other-key-entirely').seal({ secretAccessKey: 'x' }),
      },
    })
    const rows = async () =>
      [...(await app!.services.db.connection.findMany()), ...(await app!.services.db.destination.findMany())].map((r) => r.secret).sort()
    const check = async () => (await app!.services.db.keyCheck.findUniqueOrThrow({ where: { id: 1 } })).value
    const [secretsBefore, checkBefore] = [await rows(), await check()]
    await app.stop()
    app = undefined

    const r = await cli(['rotate-key'], { SECRET_KEY: KEY_A, NEW_SECRET_KEY: KEY_B })
    expect(r.code).not.toBe(0)
    expect(r.stderr).toContain('destination "stray"')
    // A start checks every secret, and names the one its key does not open.
    await expect(start(KEY_A)).rejects.toThrow(`not the secrets of destination "stray" (${stray.id})`)
    const other = await openDb(dbTarget(db.databaseUrl, db.dataDir))
    await other.destination.delete({ where: { id: stray.id } })
    await other.$disconnect()
    app = await start(KEY_A)
    expect((await rows()).filter((s) => s !== stray.secret)).toEqual(secretsBefore.filter((s) => s !== stray.secret))
    expect(await check()).toBe(checkBefore)
    expect((await secretsOf(app, ids)).password).toBe('pw-of-the-connection')
  })

  it('asks for NEW_SECRET_KEY when SECRET_KEY is set', async () => {
    db = await createTestDatabase()
    const r = await cli(['rotate-key'], { SECRET_KEY: KEY_A, NEW_SECRET_KEY: undefined })
    expect(r.code).toBe(2)
    expect(r.stderr).toContain('NEW_SECRET_KEY')
  })
})

describe('rotate-key while a service runs', () => {
  const CREATE = 'mutation($i: CreateConnectionInput!) { createConnection(input: $i) { id } }'
  const RENAME = 'mutation($id: ID!) { updateDestination(id: $id, input: { name: "renamed" }) { id } }'
  const input = (name: string) => ({
    i: {
      name,
      protocol: 'ODATA',
      odataConfig: { serviceUrl: 'https://sap.example/sap/opu/odata/sap/Z_SRV', user: 'U', password: `pw-${name}` },
    },
  })

  it('the running service refuses to save a secret under the old key (SECRET_KEY_ROTATED, HTTP and websockets); the new key starts with everything', async () => {
    db = await createTestDatabase()
    let token = ''
    app = await start(KEY_A, { listen: { host: '127.0.0.1', port: 0 }, onFirstToken: (c) => (token = c.token) })
    const ids = await seed(app)
    const url = `${app.url}/graphql`
    expect((await gqlPost(url, token, CREATE, input('before'))).json?.errors).toBeUndefined()

    expect(await cli(['rotate-key'], { SECRET_KEY: KEY_A, NEW_SECRET_KEY: KEY_B })).toMatchObject({ code: 0 })
    const rotated = async () =>
      [...(await app!.services.db.connection.findMany()), ...(await app!.services.db.destination.findMany())].map((r) => [r.name, r.secret])

    const stored = await rotated()
    const refusal = {
      message: 'the secret key was rotated while this service was running; restart it with the new key (nothing was saved)',
      extensions: { code: 'SECRET_KEY_ROTATED' },
    }
    const http = await gqlPost(url, token, CREATE, input('after-http'))
    expect(http.json?.errors).toEqual([expect.objectContaining(refusal)])
    expect((await gqlPost(url, token, RENAME, { id: ids.destinationId })).json?.errors).toEqual([expect.objectContaining(refusal)])
    const { s, acked } = await initSocket(url.replace('http', 'ws'), { authorization: `Bearer ${token}` })
    expect(acked).toBe(true)
    s.send({ id: '1', type: 'subscribe', payload: { query: CREATE, variables: input('after-ws') } })
    expect((await s.next((m) => m.id === '1' && m.type === 'next')).payload.errors).toEqual([expect.objectContaining(refusal)])
    await s.close()
    expect(await rotated()).toEqual(stored)
    await app.stop()
    app = undefined

    // The reviewer's repro ended here with "Unexpected error" on the next testConnection.
    app = await start(KEY_B)
    expect((await secretsOf(app, ids)).password).toBe('pw-of-the-connection')
    const before = await app.services.db.connection.findFirstOrThrow({ where: { name: 'before' } })
    expect(app.services.connections.resolve(before).secrets.password).toBe('pw-before')
    expect(await app.services.db.connection.count({ where: { name: { startsWith: 'after' } } })).toBe(0)
  })

  it('a database left on two keys refuses to start, naming the rows; rotate-key with the old and new key finishes it', async () => {
    db = await createTestDatabase()
    app = await start(KEY_A)
    const ids = await seed(app)
    await app.stop()
    app = undefined
    expect(await cli(['rotate-key'], { SECRET_KEY: KEY_A, NEW_SECRET_KEY: KEY_B })).toMatchObject({ code: 0 })
    // What a service that ran on through rotate-key wrote before this fix: a secret under the old key.
    const other = await openDb(dbTarget(db.databaseUrl, db.dataDir))
    const { SecretBox } = await import('../../src/db/secrets.js')
    const stale = await other.connection.create({
      data: {
        name: 'stale',
        protocol: 'ODATA',
        config: '{"serviceUrl":"https://sap.example/x"}',
        secret: new SecretBox(KEY_A).seal({ password: 'pw-stale' }),
      },
    })
    await other.$disconnect()

    await expect(start(KEY_B)).rejects.toMatchObject({
      name: 'SecretKeyMismatch',
      message: expect.stringContaining(`not the secrets of connection "stale" (${stale.id})`),
    })
    const r = await cli(['serve'], { SECRET_KEY: KEY_B, PORT: '0', SCHEDULER: 'false' })
    expect(r.code).toBe(2)
    expect(r.stderr).toContain('connection "stale"')

    expect(await cli(['rotate-key'], { SECRET_KEY: KEY_A, NEW_SECRET_KEY: KEY_B })).toMatchObject({
      code: 0,
      stdout: expect.stringContaining('1 secret(s) re-encrypted'),
    })
    app = await start(KEY_B)
    expect(app.services.connections.resolve(await app.services.connections.get(stale.id)).secrets.password).toBe('pw-stale')
    expect((await secretsOf(app, ids)).password).toBe('pw-of-the-connection')
  })
})

describe('files in DATA_DIR', () => {
  it('creates DATA_DIR 0700 and the database, its journal files and the key file 0600', async () => {
    db = await createTestDatabase()
    const dataDir = join(db.dataDir, 'fresh', 'data')
    app = await start(undefined, { dataDir })
    await app.services.connections.create({
      name: 'c',
      protocol: 'ODATA',
      odataConfig: { serviceUrl: 'https://sap.example/x', password: 'p' },
    })
    const mode = async (f: string) => (await stat(f)).mode & 0o777
    expect(await mode(dataDir)).toBe(0o700)
    expect(await mode(join(dataDir, 'secret.key'))).toBe(0o600)
    if (db.kind === 'sqlite') {
      const file = join(dataDir, 'delta-extractor.db')
      for (const f of [file, `${file}-wal`, `${file}-shm`]) expect([f, await mode(f)]).toEqual([f, 0o600])
    }
  })

  it('tightens a database file an earlier version left readable to others', async () => {
    db = await createTestDatabase()
    if (db.kind !== 'sqlite') return // the PostgreSQL server keeps its own files
    const target = dbTarget(undefined, db.dataDir)
    if (target.provider !== 'sqlite') throw new Error('sqlite expected')
    await writeFile(target.file, '')
    await chmod(target.file, 0o644)
    app = await start(undefined)
    expect((await stat(target.file)).mode & 0o777).toBe(0o600)
  })
})
