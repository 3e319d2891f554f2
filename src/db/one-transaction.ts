import type { Db, Prisma } from './client.js'

/**
 * Up to how long the work of {@link inOneTransaction} may take. It is database work only (apply asks
 * SAP before its transaction opens, cli/apply.ts), but a file of many objects on a busy database can
 * take longer than Prisma's default of 5 s, which would roll the whole file back.
 */
const TRANSACTION_TIMEOUT_MS = 300_000

/**
 * Runs `work` on one database transaction: everything it writes commits together, or nothing does
 * when it throws. `work` gets a client that code written for a whole client can use, the
 * catalogues' own `$transaction` calls included: those join this transaction (a nested transaction
 * is the outer one) rather than commit on their own.
 */
export function inOneTransaction<T>(db: Db, work: (tx: Db) => Promise<T>): Promise<T> {
  return db.$transaction((tx) => work(joining(tx)), { timeout: TRANSACTION_TIMEOUT_MS, maxWait: 30_000 })
}

function joining(tx: Prisma.TransactionClient): Db {
  const joined: Db = new Proxy(tx, {
    get(target, prop, receiver) {
      if (prop === '$transaction')
        return (arg: unknown) =>
          typeof arg === 'function' ? (arg as (t: Db) => Promise<unknown>)(joined) : Promise.all(arg as Array<Promise<unknown>>)
      return Reflect.get(target, prop, receiver)
    },
  }) as unknown as Db
  return joined
}
