/**
 * The extraction modules of the ODP replication API (docs/sap-protocols.md B.1–B.3): RODPS_REPL_ODP_OPEN,
 * _FETCH, _CLOSE, _RESET and RODPS_REPL_CURSOR_GET_LIST. Business refusals come back in ET_RETURN
 * (BAPIRET2 type E, B.8) with the call itself succeeding; message class RODPS_REPL and the numbers are
 * [INFERRED] placeholders, only "Illegal change in selection parameters" is a known text (B.5, Theobald).
 *
 * Packages [INFERRED where B.1/B.3 are silent]: E_PACKAGE names the package a FETCH returned
 * ('000001', '000002', …). I_PACKAGE = '' asks for the package after the last one this request cut;
 * I_PACKAGE = <name> asks for the package after <name> (re-delivered identically if it was cut before);
 * I_PACKAGE = <name> with I_REDO = 'X' re-reads <name>. A package holds records until the next one
 * would exceed I_MAXPACKAGESIZE bytes of ET_DATA (at least one record). Real systems raise small sizes
 * to ~50 MB (B.3, Notes 2196500/2191995); the simulator honours any size so tests can page.
 */
import { pad } from '../../model/prng.js'
import { communicationFailure, dump } from '../errors.js'
import { BAPIRET2, CHAR, INT, RAW, TABLE, bapiret } from '../iface.js'
import type { CallContext, FunctionModule } from '../runtime.js'
import { sleep } from '../runtime.js'
import { findOdp, isOdp } from './catalog.js'
import type { OdqRequest, OdqSubscription, PackageRec, SubscriberId } from './queue.js'
import { cutPackage, OdqMessage, OdqStore, packageRecords } from './queue.js'
import { FRAGMENT_BYTES, fragments } from './raw.js'
import { parseProjection, parseSelection, SelectionError } from './selection.js'

/** B.3: tools pass 52428800 bytes; used when I_MAXPACKAGESIZE is 0. */
const DEFAULT_PACKAGE_BYTES = 52_428_800

const SUBSCRIBER_PARAMS = [
  { name: 'I_SUBSCRIBER_TYPE', dir: 'IMPORT', type: CHAR(30) },
  { name: 'I_SUBSCRIBER_NAME', dir: 'IMPORT', type: CHAR(32) },
  { name: 'I_SUBSCRIBER_PROCESS', dir: 'IMPORT', type: CHAR(32) },
  { name: 'I_CONTEXT', dir: 'IMPORT', type: CHAR(20) },
  { name: 'I_ODPNAME', dir: 'IMPORT', type: CHAR(40) },
] as const
const ET_RETURN = { name: 'ET_RETURN', dir: 'TABLES', type: TABLE(BAPIRET2) } as const

function message(m: OdqMessage): Record<string, unknown> {
  return bapiret(m.type, 'RODPS_REPL', m.number, m.message, m.vars)
}

function subscriberOf(input: Record<string, unknown>): SubscriberId {
  return { type: input.I_SUBSCRIBER_TYPE as string, name: input.I_SUBSCRIBER_NAME as string, process: input.I_SUBSCRIBER_PROCESS as string }
}

function open(ctx: CallContext, input: Record<string, unknown>): Record<string, unknown> {
  const { state } = ctx
  const odq = state.odq
  const odp = findOdp(state, input.I_CONTEXT as string, input.I_ODPNAME as string)
  if (!isOdp(odp)) return { E_POINTER: '', ET_RETURN: [odp] }
  const mode = input.I_EXTRACTION_MODE as string
  const subscriber = subscriberOf(input)
  const name = odp.model.name
  // B.2: 'I' (init without data) is unverified; only F, D, R are modelled
  if (mode !== 'F' && mode !== 'D' && mode !== 'R') throw new OdqMessage('020', `Extraction mode ${mode} is not supported`, [mode])
  if (subscriber.type === '') throw new OdqMessage('021', 'Subscriber type must be specified')
  if (mode !== 'F' && (subscriber.name === '' || subscriber.process === '')) {
    throw new OdqMessage('022', 'Subscriber name and subscriber process must be specified for delta extraction')
  }
  if (mode !== 'F' && !odp.delta) throw new OdqMessage('023', `Operational data provider ${name} does not support delta extraction`, [name])
  const selection = parseSelection(name, odp.model.fields, (input.IT_SELECTIONS as Array<Record<string, unknown>>) ?? [])
  const fields = parseProjection(name, odp.model.fields, (input.IT_PROJECTION as Array<Record<string, unknown>>) ?? [])
  const size = input.I_MAXPACKAGESIZE as number
  const snapshot = odp.table.snapshot()
  /** Registers a new request (pointer) and answers with it. */
  const answer = (req: Pick<OdqRequest, 'kind' | 'snapshot' | 'fromSeq' | 'toSeq'> & Partial<OdqRequest>): Record<string, unknown> => {
    const created = odq.add({
      pointer: odq.newPointer(state.clock.now),
      mode,
      state: 'open',
      explicitClose: input.I_EXPLICIT_CLOSE === 'X',
      subscriber,
      context: odp.context,
      odpName: name,
      ds: odp,
      selection,
      fields,
      updateImages: state.variants.odpUpdateImages,
      maxPackageSize: size > 0 ? size : DEFAULT_PACKAGE_BYTES,
      packages: [],
      ...req,
    })
    return { E_POINTER: created.pointer, ET_RETURN: [] }
  }
  if (mode === 'F') return answer({ kind: 'full', snapshot, fromSeq: 0, toSeq: snapshot.seq })

  const key = OdqStore.key(subscriber, odp.context, name)
  const sub = odq.subs.get(key)
  if (sub && sub.selection.canonical !== selection.canonical) throw new OdqMessage('030', 'Illegal change in selection parameters')
  if (mode === 'R') {
    const last = sub?.requests.at(-1)
    if (!sub || !last)
      throw new OdqMessage('032', `No delta request of subscriber process ${subscriber.process} exists that could be repeated`, [
        subscriber.process,
      ])
    if (last.state === 'open') last.state = 'cancelled'
    // same kind, snapshot, change range and image style: the same records in the same order
    const { kind, fromSeq, toSeq, updateImages } = last
    return answer({ sub, kind, snapshot: last.snapshot, fromSeq, toSeq, updateImages, repeatOf: last.repeatOf ?? last.pointer })
  }
  if (!sub) {
    // the first delta request of a subscriber process is the delta init with data (B.2)
    const created: OdqSubscription = { key, subscriber, context: odp.context, odpName: name, selection, confirmedSeq: -1, requests: [] }
    odq.subs.set(key, created)
    return answer({ sub: created, kind: 'init', snapshot, fromSeq: -1, toSeq: snapshot.seq })
  }
  const last = sub.requests.at(-1)
  if (last && last.state !== 'closed') {
    if (last.explicitClose) {
      throw new OdqMessage(
        '031',
        `Request ${last.pointer} of subscriber process ${subscriber.process} is not confirmed; repeat it (extraction mode R) or close it`,
        [last.pointer, subscriber.process],
      )
    }
    odq.confirm(last)
  }
  return answer({ sub, kind: 'delta', snapshot, fromSeq: sub.confirmedSeq, toSeq: state.seq.current })
}

async function deliver(
  ctx: CallContext,
  n: number,
  work: () => { pkg?: PackageRec; records: string[] },
): Promise<{ pkg?: PackageRec; records: string[] }> {
  const fault = ctx.packageFault(n)
  if (fault?.kind === 'slow') await sleep(fault.delayMs ?? 0, ctx.signal)
  else if (fault?.kind === 'dump') throw dump(fault.dumpKey ?? 'TSV_TNEW_PAGE_ALLOC_FAILED')
  else if (fault?.lost === 'request') throw communicationFailure()
  ctx.signal.throwIfAborted()
  const out = work()
  if (fault?.kind === 'communication-failure') throw communicationFailure()
  return out
}

async function fetch(ctx: CallContext, input: Record<string, unknown>): Promise<Record<string, unknown>> {
  const pointer = input.I_POINTER as string
  const req = ctx.state.odq.requests.get(pointer)
  if (req?.state !== 'open') throw new OdqMessage('040', `Request ${pointer} does not exist or is not open`, [pointer])
  const maxBytes = (input.I_MAXPACKAGESIZE as number) > 0 ? (input.I_MAXPACKAGESIZE as number) : req.maxPackageSize
  const named = input.I_PACKAGE as string
  const idx = named === '' ? req.packages.length - 1 : req.packages.findIndex((p) => p.id === named)
  if (named !== '' && idx < 0) throw new OdqMessage('041', `Package ${named} does not exist in request ${pointer}`, [named, pointer])

  let result: { pkg?: PackageRec; records: string[] }
  if (named !== '' && input.I_REDO === 'X') {
    const pkg = req.packages[idx]
    result = await deliver(ctx, idx + 1, () => ({ pkg, records: packageRecords(req, pkg) }))
  } else if (idx + 1 < req.packages.length) {
    const pkg = req.packages[idx + 1]
    result = await deliver(ctx, idx + 2, () => ({ pkg, records: packageRecords(req, pkg) }))
  } else if (idx >= 0 && req.packages[idx].last) {
    result = { records: [] }
  } else {
    const start = idx >= 0 ? req.packages[idx].end : 0
    result = await deliver(ctx, req.packages.length + 1, () => {
      const cut = cutPackage(req, start, maxBytes)
      if (cut.records.length === 0) return { records: [] }
      const pkg: PackageRec = { id: pad(req.packages.length + 1, 6), start, end: cut.end, last: !cut.more }
      req.packages.push(pkg)
      return { pkg, records: cut.records }
    })
  }
  const noMore = ctx.state.variants.odpNoMoreData === 'after-last-package' ? result.records.length === 0 : !result.pkg || result.pkg.last
  return {
    E_PACKAGE: result.pkg?.id ?? '',
    E_NO_MORE_DATA: noMore ? 'X' : '',
    ET_DATA: result.records.flatMap(fragments).map((DATA) => ({ DATA })),
    ET_RETURN: [],
  }
}

function close(ctx: CallContext, input: Record<string, unknown>): Record<string, unknown> {
  const pointer = input.I_POINTER as string
  const req = ctx.state.odq.requests.get(pointer)
  if (!req) throw new OdqMessage('040', `Request ${pointer} does not exist or is not open`, [pointer])
  if (req.state === 'closed') throw new OdqMessage('042', `Request ${pointer} is already closed`, [pointer], 'W')
  if (req.state === 'cancelled') throw new OdqMessage('043', `Request ${pointer} was replaced by a repeat request`, [pointer])
  ctx.state.odq.confirm(req)
  return { ET_RETURN: [] }
}

function reset(ctx: CallContext, input: Record<string, unknown>): Record<string, unknown> {
  const odp = findOdp(ctx.state, input.I_CONTEXT as string, input.I_ODPNAME as string)
  if (!isOdp(odp)) return { ET_RETURN: [odp] }
  const subscriber = subscriberOf(input)
  if (!ctx.state.odq.reset(OdqStore.key(subscriber, odp.context, odp.model.name))) {
    throw new OdqMessage(
      '050',
      `No subscription of subscriber process ${subscriber.process} exists for ${odp.model.name}`,
      [subscriber.process, odp.model.name],
      'W',
    )
  }
  return { ET_RETURN: [] }
}

function cursorList(ctx: CallContext, input: Record<string, unknown>): Record<string, unknown> {
  const s = subscriberOf(input)
  const mode = input.I_EXTRACTION_MODE as string
  const rows = [...ctx.state.odq.requests.values()]
    .filter(
      (r) =>
        r.subscriber.type === s.type &&
        r.subscriber.name === s.name &&
        (s.process === '' || r.subscriber.process === s.process) &&
        r.context === input.I_CONTEXT &&
        r.odpName === input.I_ODPNAME &&
        (mode === '' || r.mode === mode),
    )
    // EXTRACTION_MODE is an extra column (B.1 names only POINTER, SUBSCRIBER_PROC, CLOSED); the
    // interface without it ignores it
    .map((r) => ({
      POINTER: r.pointer,
      SUBSCRIBER_PROC: r.subscriber.process,
      CLOSED: r.state === 'open' ? '' : 'X',
      EXTRACTION_MODE: r.mode,
    }))
  return { ET_PROCESS: rows, ET_RETURN: [] }
}

/** Runs a handler, turning refusals into ET_RETURN lines (the call itself succeeds). */
function withReturn(
  handler: (ctx: CallContext, input: Record<string, unknown>) => Promise<Record<string, unknown>> | Record<string, unknown>,
): FunctionModule['handler'] {
  return async (ctx, input) => {
    try {
      return await handler(ctx, input)
    } catch (e) {
      if (e instanceof OdqMessage) return { ET_RETURN: [message(e)] }
      if (e instanceof SelectionError) return { ET_RETURN: [message(new OdqMessage(e.number, e.message, e.vars))] }
      throw e
    }
  }
}

export const ODP_MODULES: readonly FunctionModule[] = [
  {
    iface: {
      name: 'RODPS_REPL_ODP_OPEN',
      params: [
        ...SUBSCRIBER_PARAMS,
        { name: 'I_EXTRACTION_MODE', dir: 'IMPORT', type: CHAR(1) },
        { name: 'I_EXPLICIT_CLOSE', dir: 'IMPORT', type: CHAR(1) },
        { name: 'I_MAXPACKAGESIZE', dir: 'IMPORT', type: INT },
        { name: 'E_POINTER', dir: 'EXPORT', type: CHAR(32) },
        {
          name: 'IT_SELECTIONS',
          dir: 'TABLES',
          type: TABLE({ FIELDNAME: CHAR(30), SIGN: CHAR(1), OPTION: CHAR(2), LOW: CHAR(45), HIGH: CHAR(45) }),
        },
        { name: 'IT_PROJECTION', dir: 'TABLES', type: TABLE({ FIELDNAME: CHAR(30) }) },
        ET_RETURN,
      ],
    },
    handler: withReturn(open),
  },
  {
    iface: {
      name: 'RODPS_REPL_ODP_FETCH',
      params: [
        { name: 'I_POINTER', dir: 'IMPORT', type: CHAR(32) },
        { name: 'I_PACKAGE', dir: 'IMPORT', type: CHAR(30) },
        { name: 'I_REDO', dir: 'IMPORT', type: CHAR(1) },
        { name: 'I_MAXPACKAGESIZE', dir: 'IMPORT', type: INT },
        { name: 'E_PACKAGE', dir: 'EXPORT', type: CHAR(30) },
        { name: 'E_NO_MORE_DATA', dir: 'EXPORT', type: CHAR(1) },
        { name: 'ET_DATA', dir: 'TABLES', type: TABLE({ DATA: RAW(FRAGMENT_BYTES) }) },
        ET_RETURN,
      ],
    },
    handler: withReturn(fetch),
  },
  {
    iface: { name: 'RODPS_REPL_ODP_CLOSE', params: [{ name: 'I_POINTER', dir: 'IMPORT', type: CHAR(32) }, ET_RETURN] },
    handler: withReturn(close),
  },
  { iface: { name: 'RODPS_REPL_ODP_RESET', params: [...SUBSCRIBER_PARAMS, ET_RETURN] }, handler: withReturn(reset) },
  cursorListModule(true),
]

/**
 * RODPS_REPL_CURSOR_GET_LIST; `withMode` false = ET_PROCESS with only the columns B.1 names (no
 * EXTRACTION_MODE), variant `odpCursorModes`.
 */
function cursorListModule(withMode: boolean): FunctionModule {
  const row = { POINTER: CHAR(32), SUBSCRIBER_PROC: CHAR(32), CLOSED: CHAR(1), ...(withMode ? { EXTRACTION_MODE: CHAR(1) } : {}) }
  return {
    iface: {
      name: 'RODPS_REPL_CURSOR_GET_LIST',
      params: [
        ...SUBSCRIBER_PARAMS,
        { name: 'I_EXTRACTION_MODE', dir: 'IMPORT', type: CHAR(1) },
        { name: 'ET_PROCESS', dir: 'TABLES', type: TABLE(row) },
        ET_RETURN,
      ],
    },
    handler: withReturn(cursorList),
  }
}

export const CURSOR_LIST_WITHOUT_MODE = cursorListModule(false)
