import { createHash, randomUUID } from 'node:crypto'
import { constants, createReadStream } from 'node:fs'
import { access, copyFile, link, mkdir, readFile, rename, rm, stat, unlink, writeFile } from 'node:fs/promises'
import { dirname, join, resolve, sep } from 'node:path'
import { pathToFileURL } from 'node:url'
import { DestinationError, type Destination, type PutFileOptions } from './destination.js'
import type { LocalRoots } from './local-roots.js'

/**
 * A folder on this machine (or a mounted share). Every object is written to a temporary name beside
 * its target and renamed into place, so a reader never sees a partial file and a retry overwrites.
 */
export class LocalDestination implements Destination {
  readonly root: string
  readonly uri: string

  /**
   * @param allowed when given, every folder written to must resolve (symlinks followed) inside one
   * of these roots; checked before each write, so a symlink planted after the destination was saved
   * does not lead outside.
   */
  constructor(
    path: string,
    private readonly allowed?: LocalRoots,
  ) {
    this.root = resolve(path)
    this.uri = pathToFileURL(this.root).href
  }

  uriOf(key: string): string {
    return pathToFileURL(this.pathOf(key)).href
  }

  /** `file://` is what engines' local FileIOs open. */
  tableUriOf(key: string): string {
    return this.uriOf(key)
  }

  async putFile(key: string, localPath: string, signal?: AbortSignal, options?: PutFileOptions): Promise<{ bytes: number }> {
    signal?.throwIfAborted()
    const target = this.pathOf(key)
    await this.folderFor(target)
    const tmp = `${target}.${randomUUID()}.tmp`
    try {
      await this.io(() => copyFile(localPath, tmp))
      signal?.throwIfAborted()
      // The copy, read back, must be what the Parquet writer hashed (same check as the object stores).
      if (options?.sha256 && (await this.io(() => sha256Of(tmp))) !== options.sha256)
        throw new DestinationError(
          'DESTINATION_INTEGRITY',
          `local destination ${this.root}: ${key} was copied with different content`,
          true,
        )
      await this.io(() => rename(tmp, target))
    } catch (e) {
      await unlink(tmp).catch(() => {})
      throw e
    }
    return { bytes: (await stat(target)).size }
  }

  async putText(key: string, body: string, signal?: AbortSignal): Promise<void> {
    signal?.throwIfAborted()
    const target = this.pathOf(key)
    await this.folderFor(target)
    const tmp = `${target}.${randomUUID()}.tmp`
    await this.io(() => writeFile(tmp, body))
    await this.io(() => rename(tmp, target))
  }

  /**
   * Written beside the target, then hard-linked into place: link() fails with EEXIST when the name is
   * taken, atomically on every POSIX file system, and readers never see a partial file.
   */
  async putTextIfAbsent(key: string, body: string, signal?: AbortSignal): Promise<boolean> {
    signal?.throwIfAborted()
    const target = this.pathOf(key)
    await this.folderFor(target)
    const tmp = `${target}.${randomUUID()}.tmp`
    await this.io(() => writeFile(tmp, body))
    try {
      await link(tmp, target)
      return true
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw this.wrap(e)
      return (await this.getText(key)) === body
    } finally {
      await unlink(tmp).catch(() => {})
    }
  }

  async getText(key: string): Promise<string | null> {
    return (await this.getBytes(key))?.toString('utf8') ?? null
  }

  async getBytes(key: string): Promise<Buffer | null> {
    try {
      return await readFile(this.pathOf(key))
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null
      throw this.wrap(e)
    }
  }

  async remove(key: string): Promise<void> {
    const target = this.pathOf(key)
    await this.checkInside(dirname(target))
    await this.io(() => rm(target, { force: true }))
  }

  async removePrefix(prefix: string): Promise<void> {
    const target = this.pathOf(prefix)
    await this.checkInside(dirname(target))
    await this.io(() => rm(target, { recursive: true, force: true }))
  }

  async probe(): Promise<void> {
    await this.checkInside(this.root)
    await this.io(() => mkdir(this.root, { recursive: true }))
    await this.io(() => access(this.root, constants.W_OK))
    const key = `.delta-extractor-probe-${randomUUID()}`
    await this.putText(key, 'probe')
    if ((await this.getText(key)) !== 'probe')
      throw new DestinationError('DESTINATION_UNAVAILABLE', 'probe object read back differently', true)
    await this.io(() => unlink(this.pathOf(key)))
  }

  /** Creates the folder of `target`, refusing it when it resolves outside the allowed roots. */
  private async folderFor(target: string): Promise<void> {
    await this.checkInside(dirname(target))
    await this.io(() => mkdir(dirname(target), { recursive: true }))
    await this.checkInside(dirname(target))
  }

  private async checkInside(dir: string): Promise<void> {
    if (!this.allowed) return
    const inside = this.allowed.contains(dir) && (await this.io(() => this.allowed!.containsReal(dir)))
    if (!inside)
      throw new DestinationError(
        'DESTINATION_AUTH',
        `local destination ${this.root}: ${dir} is outside the folders LOCAL_ROOTS allows (symlinks are followed); move the destination under ${this.allowed.describe()}`,
        false,
      )
  }

  /** Keys never climb out of the root, whatever a path template produced. */
  private pathOf(key: string): string {
    const p = resolve(join(this.root, key))
    if (p !== this.root && !p.startsWith(this.root + sep))
      throw new DestinationError('DESTINATION_NOT_FOUND', `key "${key}" leaves the destination folder`, false)
    return p
  }

  private async io<T>(op: () => Promise<T>): Promise<T> {
    try {
      return await op()
    } catch (e) {
      throw this.wrap(e)
    }
  }

  private wrap(e: unknown): Error {
    if (e instanceof DestinationError || (e as Error)?.name === 'AbortError') return e as Error
    const code = (e as NodeJS.ErrnoException).code
    const message = `local destination ${this.root}: ${(e as Error).message}`
    if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS')
      return new DestinationError('DESTINATION_AUTH', message, false, { cause: e })
    if (code === 'ENOSPC' || code === 'EIO' || code === 'EBUSY' || code === 'EMFILE')
      return new DestinationError('DESTINATION_UNAVAILABLE', message, true, { cause: e })
    return new DestinationError('DESTINATION_UNAVAILABLE', message, false, { cause: e })
  }
}

async function sha256Of(path: string): Promise<string> {
  const h = createHash('sha256')
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer)
  return h.digest('hex')
}
