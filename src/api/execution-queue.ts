import { type DocumentNode, getOperationAST } from 'graphql'
import type { Plugin } from 'graphql-yoga'
import type { ApiContext } from './context.js'
import { serializedOnce } from './shared-json.js'

interface Waiting {
  key: string | undefined
  execute: () => unknown
  settle: { resolve: (v: unknown) => void; reject: (e: unknown) => void }
  answer: Promise<unknown>
}

/**
 * Executions in the order they were asked for, one started per turn of the event loop
 * (architecture.md#graphql, "Fair under load"). Without it, every request whose bytes arrived in one
 * turn ran to its end in that turn: a turn lasted as long as all of them, and Node accepts one new
 * connection per turn, so a browser connecting under load waited seconds for its first answer while
 * the connections already open were served. One execution per turn keeps turns short: new
 * connections and requests are taken in between, and requests are served first come, first served.
 *
 * A query waiting in the queue with the same document, operation, variables and token as another
 * one still waiting shares that one's execution (the token, not just its role: `me` and whatever
 * else may answer by caller would otherwise hand one caller another's answer): both arrived before it starts, so the answer is
 * read after each of them was asked (nothing older than a separate execution would have given). Every
 * check before execution (token, limits, input, authorization) has run for each request by then.
 */
export class ExecutionQueue {
  readonly #waiting: Waiting[] = []
  /** Queries waiting, by what makes two of them the same. */
  readonly #byKey = new Map<string, Waiting>()
  #turnScheduled = false

  /** Runs `execute` in its turn; with a key, shares the execution of a waiting one with the same key. */
  run(key: string | undefined, execute: () => unknown): Promise<unknown> {
    const same = key === undefined ? undefined : this.#byKey.get(key)
    if (same) return same.answer
    let settle!: Waiting['settle']
    const answer = new Promise<unknown>((resolve, reject) => (settle = { resolve, reject }))
    const waiting = { key, execute, settle, answer }
    this.#waiting.push(waiting)
    if (key !== undefined) this.#byKey.set(key, waiting)
    this.#scheduleTurn()
    return answer
  }

  #scheduleTurn(): void {
    if (this.#turnScheduled || !this.#waiting.length) return
    this.#turnScheduled = true
    // setImmediate runs after the turn's I/O (new connections, request bytes, writes): one start a turn.
    setImmediate(() => this.#startNext())
  }

  #startNext(): void {
    this.#turnScheduled = false
    const next = this.#waiting.shift()
    if (!next) return
    if (next.key !== undefined) this.#byKey.delete(next.key)
    // Started, not awaited: an execution that waits (PostgreSQL, SAP in testConnection, cancelRun until
    // the run stops) holds nothing back; on SQLite a read runs to its end within this turn.
    new Promise((resolve) => resolve(next.execute())).then(next.settle.resolve, next.settle.reject)
    this.#scheduleTurn()
  }
}

/** Every execution through the queue; queries with a sharing key (mutations never share: each one acts). */
export function useExecutionQueue(): Plugin<ApiContext> {
  const queue = new ExecutionQueue()
  const documentIds = new WeakMap<DocumentNode, number>()
  let lastDocumentId = 0
  return {
    onExecute({ args, executeFn, setExecuteFn }) {
      const operation = getOperationAST(args.document, args.operationName)
      let key: string | undefined
      if (operation?.operation === 'query') {
        // Yoga's parser cache hands the same document object for the same query text.
        let id = documentIds.get(args.document)
        if (id === undefined) documentIds.set(args.document, (id = ++lastDocumentId))
        key = `${id}\u0000${args.operationName ?? ''}\u0000${args.contextValue.principal?.tokenId}\u0000${JSON.stringify(args.variableValues ?? {})}`
      }
      // A shared answer is serialized once for all who share it (shared-json.ts); mutations are not shared.
      const execute: typeof executeFn = key === undefined ? executeFn : (a) => Promise.resolve(executeFn(a)).then(serializedOnce)
      setExecuteFn((a) => queue.run(key, () => execute(a)) as ReturnType<typeof executeFn>)
    },
  }
}
