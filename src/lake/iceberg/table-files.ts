/**
 * Where a table's objects live under its path (spec "File System Tables" naming):
 * `metadata/vN.metadata.json`, `metadata/version-hint.text`, manifests and manifest lists in
 * `metadata/`. Data files are the runs' own files wherever the run wrote them (no second copy); files
 * a table writes itself (the current-state table's delete files) are to go under `data/`.
 */
export const metadataKey = (tablePath: string, version: number) => `${tablePath}/metadata/v${version}.metadata.json`
export const versionHintKey = (tablePath: string) => `${tablePath}/metadata/version-hint.text`
export const manifestKey = (tablePath: string, snapshotId: number, n: number) => `${tablePath}/metadata/${snapshotId}-m${n}.avro`
export const manifestListKey = (tablePath: string, snapshotId: number) => `${tablePath}/metadata/snap-${snapshotId}.avro`

/**
 * The key of one of the table's own metadata files from the URI recorded in the metadata: the last
 * path segment under `metadata/`. Only this writer's files are read back, and it names them all there.
 */
export function metadataKeyOfUri(tablePath: string, uri: string): string {
  return `${tablePath}/metadata/${uri.slice(uri.lastIndexOf('/') + 1)}`
}
