import { mkdir, realpath } from 'node:fs/promises'
import { dirname, resolve, sep } from 'node:path'

/**
 * The folders LOCAL destinations may live under (LOCAL_ROOTS, default DATA_DIR/lake). Anyone who
 * may create a destination could otherwise make the service write Parquet files into /etc or probe
 * which files exist. A path is judged twice: as written (so nothing outside is ever touched, and the
 * answer cannot tell whether something exists there) and as the file system resolves it (so a
 * symlink inside a root that points outside does not count as inside).
 */
export class LocalRoots {
  readonly roots: readonly string[]

  constructor(roots: readonly string[]) {
    if (!roots.length) throw new Error('at least one LOCAL_ROOTS folder is needed')
    this.roots = roots.map((r) => resolve(r))
  }

  /** Whether `absolute`, as written, is one of the roots or under one. */
  contains(absolute: string): boolean {
    return this.roots.some((root) => within(absolute, root))
  }

  /**
   * Whether `path`, with every symlink resolved, is under a root (also resolved). The deepest part
   * of the path that exists is resolved, so this works before the folder is created; a root that
   * does not exist yet is created (it is the operator's chosen place for the lake).
   */
  async containsReal(path: string): Promise<boolean> {
    const real = await realExisting(resolve(path))
    for (const root of this.roots) {
      await mkdir(root, { recursive: true }).catch(() => undefined)
      const realRoot = await realpath(root).catch(() => undefined)
      if (realRoot && within(real, realRoot)) return true
    }
    return false
  }

  describe(): string {
    return this.roots.join(', ')
  }
}

function within(path: string, root: string): boolean {
  return path === root || path.startsWith(root.endsWith(sep) ? root : root + sep)
}

/** realpath of the deepest existing ancestor, with the rest of the path appended. */
async function realExisting(path: string): Promise<string> {
  let head = path
  const rest: string[] = []
  for (;;) {
    try {
      return resolve(await realpath(head), ...rest.reverse())
    } catch (e) {
      const parent = dirname(head)
      const code = (e as NodeJS.ErrnoException).code
      if ((code !== 'ENOENT' && code !== 'ENOTDIR') || parent === head) throw e
      rest.push(head.slice(parent.length).replace(/^[\\/]+/, ''))
      head = parent
    }
  }
}
