/**
 * Serves one page of an open read: applies injected faults, streams the rows in ~64 KB chunks with
 * back-pressure (a 50,000-row page is ~20 MB and is never built as one string), and ends the last page
 * with the delta link in the place the `tokenPlacement` variant says.
 */
import type { ServerResponse } from 'node:http'
import { setTimeout as delay } from 'node:timers/promises'
import type { TokenRec } from '../data/subscriptions.js'
import type { SimState } from '../state.js'
import type { Fault } from '../types.js'
import type { RequestContext } from './context.js'
import { MSG, SapHttpError } from './errors.js'
import type { OpenRead } from './reads.js'
import { encodeSkiptoken } from './reads.js'

const CHUNK = 64 * 1024

function faultError(fault: Fault, state: SimState): SapHttpError {
  const retry: Record<string, string> = fault.retryAfterSeconds !== undefined ? { 'retry-after': String(fault.retryAfterSeconds) } : {}
  switch (fault.kind) {
    case 'http-503':
      return new SapHttpError(503, MSG.unavailable, 'Service unavailable: no free work process (injected fault)', retry)
    case 'http-429':
      return new SapHttpError(429, MSG.throttled, 'Too many requests (injected fault)', retry)
    case 'http-401':
      return new SapHttpError(401, MSG.logonFailed, 'Logon failed: the security session expired (injected fault)', {
        'www-authenticate': `Basic realm="SAP NetWeaver Application Server [XYZ/${state.sapClient}]"`,
      })
    default:
      return new SapHttpError(500, MSG.backend, 'Runtime error in the backend system: RFC error (injected fault)')
  }
}

function drained(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      res.off('drain', done)
      res.off('close', done)
      resolve()
    }
    res.on('drain', done)
    res.on('close', done)
  })
}

function jsonInner(text: string): string {
  return JSON.stringify(text).slice(1, -1)
}

function quoted(read: OpenRead, token: string): string {
  return read.variants.tokenQuoted ? `'${token}'` : token
}

/** `$select`/`$filter` of the read (of the subscription for change-tracked reads) as they were sent. */
function selectionParams(read: OpenRead): string {
  const select = read.sub ? read.sub.selectRaw : read.selectRaw
  const filter = read.sub ? read.sub.filterRaw : read.filterRaw
  return (select ? '&$select=' + encodeURIComponent(select) : '') + (filter ? '&$filter=' + encodeURIComponent(filter) : '')
}

function base(read: OpenRead): string {
  return `${read.serviceRoot}/${read.def.name}`
}

/** The delta link as SAP writes it in `__delta`: no $format, selection baked in (A.6.3/A.6.4). */
function deltaLink(read: OpenRead, token: string): string {
  return `${base(read)}?!deltatoken=${quoted(read, token)}${selectionParams(read)}`
}

function terminalLink(read: OpenRead, token: string): string {
  return `${base(read)}?$format=json&!deltatoken=${quoted(read, token)}${selectionParams(read)}`
}

function nextLink(read: OpenRead): string {
  const carriesToken = read.kind === 'delta' && read.variants.nextLinkCarriesDeltaToken && read.inputToken
  return (
    `${base(read)}?` +
    (carriesToken ? `!deltatoken=${quoted(read, read.inputToken!.token)}&` : '') +
    `$skiptoken=${encodeSkiptoken(read.id, read.nextPage)}` +
    selectionParams(read) +
    (read.inlineCount ? '&$inlinecount=allpages' : '') +
    '&$format=json' +
    (read.sapClient !== undefined ? `&sap-client=${encodeURIComponent(read.sapClient)}` : '')
  )
}

/** The token a finished change-tracked read ends with, and whether it was issued just now. */
function endToken(state: SimState, read: OpenRead): { token: string; fresh?: TokenRec } {
  if (read.kind === 'delta' && read.total === 0 && !read.variants.emptyDeltaNewToken) {
    return { token: read.inputToken!.token } // observed: an empty delta keeps the token (erpl-web #169)
  }
  const fresh = state.subs.issue(read.sub!, read.snapshotSeq, read.kind === 'init')
  return { token: fresh.token, fresh }
}

/**
 * Serves the page `read.nextPage`. An injected fault is thrown as a SapHttpError (or drops the
 * connection) and leaves the read open for a retry of the same page, unless variant faultEndsRead;
 * any other error closes the read.
 */
export async function servePage(ctx: RequestContext, read: OpenRead): Promise<void> {
  const { state, res } = ctx
  read.busy = true
  const generation = ++read.generation
  state.reads.disarm(read)
  let aborted = false
  let dropping = false
  let issued: TokenRec | undefined
  read.cursor.rewindPage()
  // An injected fault leaves the read open for a retry of this page, unless the variant says
  // otherwise. A fault on the very first page ends it: nothing was handed out yet, and the client's
  // retry of the initial GET opens a new read (which an open one would refuse with 013).
  const afterFault = () => {
    if (read.variants.faultEndsRead || read.nextPage === 1) state.reads.close(read)
    else {
      read.busy = false
      state.reads.armIdle(read)
    }
  }
  res.on('close', () => {
    // a response that went out whole (data or error) means the client is still there
    if (res.writableFinished || dropping) return
    // the client went away mid-response: the read ends, and a token it never saw is taken back
    aborted = true
    state.reads.close(read)
    if (issued) state.subs.revoke(issued)
  })
  try {
    const page = read.nextPage
    const fault = state.faults.take(page, read.kind, read.def.name)
    if (fault?.kind === 'slow') await delay(fault.delayMs ?? 1000, undefined, { signal: state.shutdown.signal })
    if (state.latencyMs > 0) await delay(state.latencyMs, undefined, { signal: state.shutdown.signal })
    if (aborted || read.closed) return void res.destroy()
    if (fault && fault.kind !== 'slow' && fault.kind !== 'drop') {
      afterFault()
      throw new InjectedFault(faultError(fault, state))
    }

    const terminalNext = read.kind !== 'full' && read.variants.tokenPlacement === 'terminal-next'
    let count = 0
    let terminal = false
    let dataEnds = false
    if (read.dataDone) {
      terminal = true
    } else {
      const remaining = read.total - read.delivered
      count = read.pageSize === undefined ? remaining : Math.min(read.pageSize, remaining)
      dataEnds = read.delivered + count === read.total
      if (dataEnds && terminalNext) {
        if (read.total === 0) terminal = true
        else read.dataDone = true
      }
    }
    const last = terminal || (dataEnds && !terminalNext)
    if (state.rowsPerSecondPerRead > 0 && count > 0)
      await delay((count * 1000) / state.rowsPerSecondPerRead, undefined, { signal: state.shutdown.signal })
    if (aborted || read.closed) return void res.destroy()

    const headers: Record<string, string> = {
      'content-type': 'application/json; charset=utf-8',
      dataserviceversion: '2.0',
      'cache-control': 'no-store, no-cache',
    }
    const applied: string[] = []
    if (read.kind !== 'full' && read.trackChangesRequested) applied.push('odata.track-changes')
    if (read.pageSize !== undefined) applied.push(`odata.maxpagesize=${read.pageSize}`)
    if (applied.length > 0 && (last || !read.variants.preferenceAppliedOnLastPage)) headers['preference-applied'] = applied.join(',')

    res.writeHead(200, headers)
    state.stats.dataPages++
    let buf = '{"d":{"results":['

    if (fault?.kind === 'drop') {
      // a connection lost mid-page: headers and some rows arrive, then the socket dies
      const part = Math.min(count, Math.max(1, Math.floor(count / 2)))
      for (let i = 0; i < part; i++) buf += (i === 0 ? '' : ',') + read.writeRow(read.cursor.next()!)
      await new Promise<void>((resolve) => {
        res.write(buf, () => resolve())
        res.once('close', () => resolve())
      })
      dropping = true
      afterFault()
      res.destroy()
      return
    }

    for (let i = 0; i < count; i++) {
      const o = read.cursor.next()
      if (o === undefined) throw new Error(`internal: read ${read.id} ran out of rows at ${read.delivered + i} of ${read.total}`)
      buf += (i === 0 ? '' : ',') + read.writeRow(o)
      if (buf.length >= CHUNK) {
        if (aborted) return
        const ok = res.write(buf)
        buf = ''
        if (!ok) await drained(res)
      }
    }
    if (aborted) return
    if (read.closed) return void res.destroy() // terminated meanwhile (TerminateDeltasFor)
    read.delivered += count
    read.cursor.commitPage()
    buf += ']'
    if (read.inlineCount) buf += ',"__count":"' + read.total + '"'
    if (last) {
      state.reads.close(read) // the read ends with its last page: the subscription is free again
      if (read.kind !== 'full') {
        const { token, fresh } = endToken(state, read)
        issued = fresh
        if (read.variants.tokenPlacement === 'delta') buf += ',"__delta":"' + jsonInner(deltaLink(read, token)) + '"'
        else if (read.variants.tokenPlacement === 'terminal-next') buf += ',"__next":"' + jsonInner(terminalLink(read, token)) + '"'
      }
    } else {
      read.nextPage++
      buf += ',"__next":"' + jsonInner(nextLink(read)) + '"'
    }
    res.end(buf + '}}')
    read.busy = false
    res.once('finish', () => {
      // the idle clock starts once the page is out, unless the next page already began
      if (!read.closed && read.generation === generation) state.reads.armIdle(read)
    })
  } catch (err) {
    if (err instanceof InjectedFault) throw err.error
    state.reads.close(read)
    throw err
  }
}

/** Carries an injected fault's error past the catch-all that closes the read. */
class InjectedFault {
  constructor(readonly error: unknown) {}
}
