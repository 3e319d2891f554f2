import { Redis } from 'ioredis'
import type { Broadcast } from '../util/broadcast.js'
import type { Logger } from '../util/logger.js'

/** The channels the processes of one deployment share, each `<prefix>:<name>` (docs/architecture.md#progress). */
const CHANNELS = ['progress', 'cancel', 'revoke', 'slot', 'partition'] as const
export type ChannelName = (typeof CHANNELS)[number]

export interface RedisChannelsOptions {
  /** REDIS_PREFIX: deployments (and test files) sharing one Redis keep apart by it. */
  prefix: string
  log: Logger
}

/**
 * Redis pub/sub for one process: one connection publishes, one subscribes to every channel once
 * and hands each message to this process's listeners. So N local subscribers cost one Redis
 * message per event, not N. ioredis reconnects and resubscribes by itself; messages published
 * while this process was disconnected are lost (pub/sub keeps nothing), which is why every user
 * of a channel keeps a database fallback.
 */
export class RedisChannels {
  readonly #listeners = new Map<string, Set<(message: string) => void>>()
  readonly #resyncListeners = new Set<(since: Date) => void>()
  #publishFailing = false
  /** When the subscriber connection dropped, until its channels are subscribed again; null while it listens. */
  #subscriberDroppedAt: Date | null = null

  private constructor(
    private readonly publisher: Redis,
    private readonly subscriber: Redis,
    private readonly opts: RedisChannelsOptions,
  ) {
    subscriber.on('message', (channel: string, message: string) => {
      for (const listener of this.#listeners.get(channel) ?? []) listener(message)
    })
    // ioredis says 'close' once per failed reconnect attempt too: the first one is when hearing stopped.
    subscriber.on('close', () => (this.#subscriberDroppedAt ??= new Date()))
    subscriber.on('ready', () => {
      const since = this.#subscriberDroppedAt
      if (!since) return
      void this.#resubscribed(since)
    })
  }

  /**
   * The subscriber is back after a drop: once its channels are subscribed again (ioredis resubscribes
   * just after 'ready'; subscribing once more is harmless and its reply says the subscription is live),
   * whatever was published meanwhile is lost to this process, so the listeners re-read the database.
   * A resync earlier than the subscription could miss an event sent between the two.
   */
  async #resubscribed(since: Date): Promise<void> {
    try {
      await this.subscriber.subscribe(...CHANNELS.map((c) => this.#channel(c)))
    } catch {
      return // dropped again: the next 'ready' tries again, still from the first drop
    }
    if (this.#subscriberDroppedAt !== since) return // another 'ready' of this drop got here first
    this.#subscriberDroppedAt = null
    for (const listener of this.#resyncListeners) listener(since)
  }

  /** Connects and subscribes; fails (and leaves nothing open) when Redis cannot be reached. */
  static async open(url: string, opts: RedisChannelsOptions): Promise<RedisChannels> {
    const where = redisAddress(url)
    const connect = (role: string) => {
      const redis = new Redis(url, { lazyConnect: true, connectionName: `${opts.prefix}-${role}` })
      watchConnection(redis, role, where, opts.log)
      return redis
    }
    const publisher = connect('publisher')
    const subscriber = connect('subscriber')
    try {
      await Promise.all([publisher.connect(), subscriber.connect()])
      await subscriber.subscribe(...CHANNELS.map((c) => `${opts.prefix}:${c}`))
    } catch (e) {
      publisher.disconnect()
      subscriber.disconnect()
      throw new Error(`Redis at ${where} cannot be used: ${(e as Error).message}`)
    }
    opts.log.info({ redis: where, prefix: opts.prefix }, 'Redis channels ready')
    return new RedisChannels(publisher, subscriber, opts)
  }

  /** One PUBLISH; a failure is logged (once until it works again), never thrown at the caller. */
  publish(name: ChannelName, message: string): void {
    this.publisher.publish(this.#channel(name), message).then(
      () => (this.#publishFailing = false),
      (err: Error) => {
        if (!this.#publishFailing) this.opts.log.warn({ err: { message: err.message }, channel: name }, 'Redis publish failed')
        this.#publishFailing = true
      },
    )
  }

  listen(name: ChannelName, listener: (message: string) => void): () => void {
    const channel = this.#channel(name)
    let set = this.#listeners.get(channel)
    if (!set) this.#listeners.set(channel, (set = new Set()))
    set.add(listener)
    return () => set.delete(listener)
  }

  /**
   * Calls `listener` each time the subscription is back after a drop, with the time it dropped (messages
   * published since may have been lost); returns the stop function.
   */
  onResync(listener: (since: Date) => void): () => void {
    this.#resyncListeners.add(listener)
    return () => this.#resyncListeners.delete(listener)
  }

  /** A channel that carries bare ids (run ids to cancel, token ids revoked, runs that ended and freed a slot). */
  broadcast(name: 'cancel' | 'revoke' | 'slot'): Broadcast {
    return {
      send: (id) => this.publish(name, id),
      listen: (listener) => this.listen(name, listener),
    }
  }

  /** Whether Redis answers now (readiness, /readyz): a PING on the publishing connection. */
  async ping(): Promise<boolean> {
    return (await this.publisher.ping().catch(() => null)) === 'PONG'
  }

  async close(): Promise<void> {
    this.#listeners.clear()
    this.#resyncListeners.clear()
    await Promise.allSettled([this.subscriber.quit(), this.publisher.quit()])
  }

  #channel(name: ChannelName): string {
    return `${this.opts.prefix}:${name}`
  }
}

/**
 * One message to every process of a deployment from a short-lived process (the command line), with no
 * subscription: connect, PUBLISH, disconnect. Resolves with how many processes' subscriptions got it;
 * fails at once (naming the host only) when Redis cannot be reached, instead of retrying.
 */
export async function publishOnce(url: string, prefix: string, name: ChannelName, message: string): Promise<number> {
  const redis = new Redis(url, {
    lazyConnect: true,
    connectionName: `${prefix}-cli`,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    connectTimeout: 5_000,
  })
  redis.on('error', () => undefined) // reported by the awaited calls below
  try {
    await redis.connect()
    return await redis.publish(`${prefix}:${name}`, message)
  } catch (e) {
    throw new Error(`Redis at ${redisAddress(url)} cannot be used: ${(e as Error).message}`)
  } finally {
    redis.disconnect()
  }
}

/** Where Redis is, for logs and errors: the URL may carry a password, this never does. */
function redisAddress(url: string): string {
  const u = new URL(url)
  return `${u.protocol}//${u.host}${u.pathname.length > 1 ? u.pathname : ''}`
}

/** One line when the connection drops and one when it is back (ioredis retries, and resubscribes, meanwhile). */
function watchConnection(redis: Redis, role: string, where: string, log: Logger): void {
  let lost = false
  redis.on('error', (err: Error) => {
    if (!lost) log.warn({ redis: where, role, err: { message: err.message } }, 'Redis connection lost; reconnecting')
    lost = true
  })
  redis.on('reconnecting', () => {
    if (!lost) log.warn({ redis: where, role }, 'Redis connection lost; reconnecting')
    lost = true
  })
  redis.on('ready', () => {
    if (lost) log.info({ redis: where, role }, 'Redis connection back (ioredis resubscribes)')
    lost = false
  })
}
