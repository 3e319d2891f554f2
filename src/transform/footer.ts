/**
 * Reads a finished Parquet file's footer back from disk — the footer only, not the data — with
 * hyparquet, a reader independent of the encoder that wrote it. Run integrity checks compare its row
 * count with the count the writer kept.
 */
import { asyncBufferFromFile, parquetMetadataAsync } from 'hyparquet'

export interface FooterFacts {
  /** num_rows of the file's metadata. */
  rows: number
  /** num_rows of each row group; their sum must equal `rows`. */
  rowGroupRows: number[]
}

export async function readFooter(localPath: string): Promise<FooterFacts> {
  const meta = await parquetMetadataAsync(await asyncBufferFromFile(localPath))
  return { rows: Number(meta.num_rows), rowGroupRows: meta.row_groups.map((g) => Number(g.num_rows)) }
}
