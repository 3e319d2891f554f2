import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { FaultProxy } from './fault-proxy.js'
import { readRun, type LakeRow } from './lake.js'
import { downloadRun, type ObjectLake } from './object-lake.js'

/**
 * A lake reader as impatient as they come: the instant the store has accepted a manifest.json (the
 * store's answer has arrived at the proxy, the writer has not seen it yet), it copies the manifest
 * and the files it lists. Whatever the writer does afterwards — take the manifest back, write it
 * again elsewhere — every manifest that was ever visible is in `copies`, as a reader may have used it.
 */
export class ManifestReader {
  readonly copies: string[] = []
  readonly #pending = new Set<Promise<void>>()

  private constructor(
    private readonly lake: ObjectLake,
    private readonly dir: string,
  ) {}

  static async attach(proxy: FaultProxy, lake: ObjectLake): Promise<ManifestReader> {
    const reader = new ManifestReader(lake, await mkdtemp(join(tmpdir(), 'de-reader-')))
    proxy.onAnswered(
      (r) => r.method === 'PUT' && r.path.endsWith('/manifest.json'),
      async (r) => {
        if (r.status !== 200) return
        const [, bucket, ...key] = r.path.split('/')
        const copied = downloadRun(reader.lake, `s3://${bucket}/${key.join('/')}`, join(reader.dir, String(reader.copies.length))).then(
          (uri) => {
            reader.copies.push(uri)
          },
        )
        reader.#pending.add(copied)
        await copied.finally(() => reader.#pending.delete(copied))
      },
    )
    return reader
  }

  /** Every row of every manifest ever seen, with the run that wrote it. */
  async rows(): Promise<Array<LakeRow & { runId: string }>> {
    await Promise.all(this.#pending)
    const all: Array<LakeRow & { runId: string }> = []
    for (const uri of this.copies) {
      const { manifest, rows } = await readRun(uri)
      all.push(...rows.map((r) => ({ ...r, runId: manifest.runId })))
    }
    return all
  }

  dispose(): Promise<void> {
    return rm(this.dir, { recursive: true, force: true })
  }
}
