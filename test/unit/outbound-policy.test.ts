import { createServer, get, type Server } from 'node:http'
import { isIP, type AddressInfo } from 'node:net'
import { networkInterfaces } from 'node:os'
import { afterEach, describe, expect, it } from 'vitest'
import { guardedAgents, guardedFetch } from '../../src/net/guarded-http.js'
import { OutboundPolicy, parseAllowEntry } from '../../src/net/outbound-policy.js'
import { rfcConnectGuard } from '../../src/sap/rfc/connect-guard.js'

const strict = new OutboundPolicy({ allowLoopback: false, allow: [] })
const loopbackOk = new OutboundPolicy({ allowLoopback: true, allow: [] })

describe('the decision on a resolved address', () => {
  it.each([
    ['169.254.169.254', 'metadata'],
    ['169.254.0.1', 'link-local'],
    ['100.100.100.200', 'Alibaba metadata'],
    ['168.63.129.16', 'Azure WireServer'],
    ['0.0.0.0', 'this network'],
    ['fe80::1', 'IPv6 link-local'],
    ['fd00:ec2::254', 'AWS metadata over IPv6'],
    ['::ffff:169.254.169.254', 'IPv4-mapped metadata'],
    ['::ffff:a9fe:a9fe', 'IPv4-mapped metadata, hex'],
    ['64:ff9b::a9fe:a9fe', 'NAT64 metadata'],
    ['224.0.0.1', 'multicast'],
    ['255.255.255.255', 'broadcast'],
    ['::', 'unspecified'],
  ])('always refuses %s (%s), loopback allowed or not', (address) => {
    for (const p of [strict, loopbackOk])
      expect(p.decide('h', 80, address)).toEqual({ allowed: false, reason: expect.stringContaining('always refused') })
  })

  it.each(['127.0.0.1', '127.1.2.3', '::1', '::ffff:127.0.0.1', '::ffff:7f00:1', '::127.0.0.1', '64:ff9b::7f00:1'])(
    'refuses loopback %s unless ALLOW_LOOPBACK',
    (address) => {
      expect(strict.decide('h', 80, address)).toEqual({ allowed: false, reason: 'a loopback address (set ALLOW_LOOPBACK=true to allow)' })
      expect(loopbackOk.decide('h', 80, address)).toEqual({ allowed: true })
    },
  )

  // The machine's own addresses (other than loopback and link-local, which are refused anyway).
  const own = Object.values(networkInterfaces())
    .flat()
    .map((a) => a!.address)
    .filter((a) => !/^(127\.|::1$|fe80:)/i.test(a))
  it.skipIf(!own.length)(
    'refuses the machine’s own interface addresses unless ALLOW_LOOPBACK: a service on 0.0.0.0 answers there too',
    () => {
      for (const address of own) {
        expect([address, strict.decide('h', 80, address)]).toEqual([
          address,
          { allowed: false, reason: 'an address of this machine (set ALLOW_LOOPBACK=true to allow)' },
        ])
        expect(loopbackOk.decide('h', 80, address)).toEqual({ allowed: true })
      }
      const v4 = own.find((a) => isIP(a) === 4)
      if (v4) expect(strict.decide('h', 80, `::ffff:${v4}`).allowed).toBe(false)
    },
  )

  it.each(['10.1.2.3', '172.16.0.5', '192.168.10.20', 'fd12:3456::1', '8.8.8.8', '2001:db8::1'])(
    'allows private and public %s (SAP lives on private networks)',
    (address) => {
      expect(strict.decide('h', 80, address)).toEqual({ allowed: true })
    },
  )

  it('pins every connection to OUTBOUND_ALLOW when it is set: names, name:port, *.domain, addresses, CIDRs', () => {
    const p = new OutboundPolicy({
      allowLoopback: false,
      allow: ['sap.corp.example:44300', '*.lake.example', '10.0.0.0/8', '192.168.1.7', '[fd00::1]:443'],
    })
    expect(p.decide('sap.corp.example', 44300, '172.16.0.9')).toEqual({ allowed: true })
    expect(p.decide('SAP.corp.example.', 44300, '172.16.0.9')).toEqual({ allowed: true })
    expect(p.decide('sap.corp.example', 8000, '172.16.0.9').allowed).toBe(false)
    expect(p.decide('a.lake.example', 443, '172.16.0.9')).toEqual({ allowed: true })
    expect(p.decide('lake.example', 443, '172.16.0.9').allowed).toBe(false)
    expect(p.decide('erp', 3300, '10.20.30.40')).toEqual({ allowed: true })
    expect(p.decide('erp', 3300, '::ffff:10.20.30.40')).toEqual({ allowed: true })
    expect(p.decide('other', 3300, '192.168.1.7')).toEqual({ allowed: true })
    expect(p.decide('other', 3300, '192.168.1.8')).toEqual({ allowed: false, reason: 'not listed in OUTBOUND_ALLOW' })
    expect(p.decide('v6', 443, 'fd00::1')).toEqual({ allowed: true })
    expect(p.decide('v6', 80, 'fd00::1').allowed).toBe(false)
    // listing does not lift the fixed refusals
    expect(
      new OutboundPolicy({ allowLoopback: false, allow: ['169.254.0.0/16', '127.0.0.1'] }).decide('x', 80, '169.254.169.254').allowed,
    ).toBe(false)
    expect(new OutboundPolicy({ allowLoopback: false, allow: ['127.0.0.1'] }).decide('x', 80, '127.0.0.1').allowed).toBe(false)
  })

  it.each(['10.0.0.0/33', 'fd00::/129', 'host name', 'h:99999', ''])('refuses the OUTBOUND_ALLOW entry %j', (entry) => {
    expect(() => parseAllowEntry(entry)).toThrow('OUTBOUND_ALLOW entry')
  })
})

describe('resolution', () => {
  it.each(['localhost', '0x7f000001', '2130706433', '127.1', '0177.0.0.1', '[::1]', '::ffff:127.0.0.1'])(
    'judges %s by the address it means',
    async (host) => {
      await expect(strict.resolve(host, 80)).rejects.toMatchObject({
        code: 'E_OUTBOUND_REFUSED',
        message: expect.stringContaining('loopback'),
      })
      await expect(loopbackOk.resolve(host, 80)).resolves.toMatchObject({ address: expect.stringMatching(/^(127\.|::1$|::ffff:127)/) })
    },
  )

  it('refuses a name when any of its addresses is refused', async () => {
    const p = new OutboundPolicy({
      allowLoopback: false,
      allow: [],
      resolver: async () => [
        { address: '10.0.0.5', family: 4 },
        { address: '169.254.169.254', family: 4 },
      ],
    })
    await expect(p.resolve('sap.example', 443)).rejects.toThrow(
      'the outbound policy refuses sap.example:443: it resolves to a link-local, cloud metadata or reserved address',
    )
  })
})

describe('HTTP clients check every new connection', () => {
  let server: Server | undefined
  let hits = 0
  afterEach(() => server?.close())
  const listen = async () => {
    hits = 0
    // Each answer closes its connection, so every request needs a new one.
    server = createServer((_req, res) => (hits++, res.writeHead(200, { connection: 'close' }).end('ok'))).listen(0, '127.0.0.1')
    await new Promise((r) => server!.once('listening', r))
    return (server.address() as AddressInfo).port
  }

  it('fetch (the OData client) refuses before connecting, in every spelling of the address', async () => {
    const port = await listen()
    for (const host of ['127.0.0.1', 'localhost', '0x7f000001', '2130706433', '[::ffff:127.0.0.1]']) {
      const e = await guardedFetch(strict)(`http://${host}:${port}/`).catch((x: Error) => x)
      expect([host, (e as Error & { cause?: Error }).cause?.message]).toEqual([
        host,
        expect.stringContaining('the outbound policy refuses'),
      ])
    }
    expect(hits).toBe(0)
    const ok = await guardedFetch(loopbackOk)(`http://localhost:${port}/`)
    expect(await ok.text()).toBe('ok')
  })

  it('a name that resolves elsewhere on the next connection (DNS rebinding) is refused then', async () => {
    const port = await listen()
    const answers = ['127.0.0.1', '169.254.169.254']
    const rebinding = new OutboundPolicy({
      allowLoopback: true,
      allow: [],
      resolver: async () => [{ address: answers.shift() ?? '169.254.169.254', family: 4 }],
    })
    const f = guardedFetch(rebinding)
    expect(await (await f(`http://sap.rebind.example:${port}/`)).text()).toBe('ok')
    const second = await f(`http://sap.rebind.example:${port}/`).catch((e: Error) => e)
    expect((second as Error & { cause?: Error }).cause?.message).toContain(
      'it resolves to a link-local, cloud metadata or reserved address',
    )
    expect(hits).toBe(1)
    await f.close()
  })

  it('the agents of the Azure and AWS SDKs refuse the same way', async () => {
    const port = await listen()
    const ask = (policy: OutboundPolicy) => {
      const agents = guardedAgents(policy)
      return new Promise<string>((resolve) => {
        get({ host: 'localhost', port, agent: agents.http }, (res) => {
          res.resume()
          resolve(`status ${res.statusCode}`)
        }).on('error', (e) => resolve(e.message))
      }).finally(() => agents.http.destroy())
    }
    expect(await ask(strict)).toContain('the outbound policy refuses localhost')
    expect(hits).toBe(0)
    expect(await ask(loopbackOk)).toBe('status 200')
  })
})

describe('RFC logons', () => {
  it('are checked and handed the checked address: ashost, mshost, the first SAProuter hop', async () => {
    const guard = rfcConnectGuard(loopbackOk)
    expect(await guard({ ashost: 'localhost', sysnr: '00', client: '100' })).toMatchObject({
      ashost: expect.stringMatching(/^(127\.0\.0\.1|::1)$/),
    })
    expect(await guard({ mshost: '127.1', msserv: '3600', client: '100' })).toMatchObject({ mshost: '127.0.0.1' })
    expect(await guard({ ashost: 'erp.behind.router', sysnr: '00', client: '100', saprouter: '/H/0x7f000001/S/3299/H/' })).toMatchObject({
      ashost: 'erp.behind.router',
      saprouter: '/H/127.0.0.1/S/3299/H/',
    })
    const refusing = rfcConnectGuard(strict)
    await expect(refusing({ ashost: '2130706433', sysnr: '00', client: '100' })).rejects.toMatchObject({
      code: 'OUTBOUND_REFUSED',
      retryable: false,
    })
    await expect(refusing({ ashost: '169.254.169.254', sysnr: '00', client: '100' })).rejects.toMatchObject({ code: 'OUTBOUND_REFUSED' })
  })
})
