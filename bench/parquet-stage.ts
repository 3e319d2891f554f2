/**
 * Parquet stage benchmark: N rows × 12 SAP-like columns (sales-order items: 2 NUMC keys, 2 texts,
 * 2 dates, a time, 3 decimals, a currency key, an int), in 25k-row batches.
 *
 *   npx tsx bench/parquet-stage.ts [rows=1000000] [--compression=SNAPPY] [--duckdb-threads=N] [--repeat=N] [--no-duckdb]
 *
 * What is compared: the encoding stage, i.e. JS row batches in memory (as the SAP clients deliver them)
 * → Parquet file(s) on local disk. Row generation is timed separately and excluded from both sides.
 *
 * - ours:   ParquetRoller.write()/finish(): value conversion, columnar buffering, encoding,
 *           compression, file write and SHA-256. Single-threaded JS.
 * - DuckDB: the same rows appended through DuckDB's appender into an in-memory table ("load"), then
 *           COPY … TO '…parquet' (FORMAT parquet, SNAPPY, same row-group size) ("copy"). DuckDB needs the
 *           load to turn JS values into its columns, which is the work our conversion step does, so the
 *           like-for-like figure is load + copy. `copy` alone is DuckDB's native columnar → Parquet speed
 *           (multi-threaded C++ over data already in columns) and is printed as the upper bound.
 *
 * The generator and both stage functions are exported for `npm run bench`.
 */
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { pathToFileURL } from 'node:url'
import type { Column, Row } from '../src/sap/fields.js'
import { codecFor } from '../src/transform/compression.js'
import { PAGE_BYTES } from '../src/transform/encode/column-writer.js'
import { createColumnWriter } from '../src/transform/encode/columns.js'
import { ParquetFile } from '../src/transform/encode/parquet-file.js'
import { ParquetRoller, parquetSchema, type Compression, type WrittenFile } from '../src/transform/index.js'

const BATCH_ROWS = 25_000

/** Sales-order items, the shape of a typical ODP extractor (2LIS_11_VAITM-like). */
const sapLikeColumns: Column[] = [
  { name: 'VBELN', type: { kind: 'string', maxLength: 10 }, nullable: false, key: true, sourceType: 'CHAR(10)' },
  { name: 'POSNR', type: { kind: 'string', maxLength: 6 }, nullable: false, key: true, sourceType: 'NUMC(6)' },
  { name: 'MATNR', type: { kind: 'string', maxLength: 40 }, nullable: false, key: false, sourceType: 'CHAR(40)' },
  { name: 'ARKTX', type: { kind: 'string', maxLength: 40 }, nullable: true, key: false, sourceType: 'CHAR(40)' },
  { name: 'ERDAT', type: { kind: 'date' }, nullable: false, key: false, sourceType: 'DATS' },
  { name: 'LFDAT', type: { kind: 'date' }, nullable: true, key: false, sourceType: 'DATS' },
  { name: 'ERZET', type: { kind: 'time' }, nullable: false, key: false, sourceType: 'TIMS' },
  {
    name: 'NETWR',
    type: { kind: 'decimal', precision: 15, scale: 2 },
    nullable: false,
    key: false,
    sourceType: 'CURR(15,2)',
    unit: 'WAERK',
  },
  { name: 'KWMENG', type: { kind: 'decimal', precision: 13, scale: 3 }, nullable: false, key: false, sourceType: 'QUAN(13,3)' },
  {
    name: 'NETPR',
    type: { kind: 'decimal', precision: 11, scale: 2 },
    nullable: true,
    key: false,
    sourceType: 'CURR(11,2)',
    unit: 'WAERK',
  },
  { name: 'WAERK', type: { kind: 'string', maxLength: 5 }, nullable: false, key: false, sourceType: 'CUKY', semantics: 'currency-code' },
  { name: 'ZAEHL', type: { kind: 'int32' }, nullable: false, key: false, sourceType: 'INT4' },
]

const WORDS = [
  'Schraube',
  'Mutter',
  'Pumpe',
  'Ventil',
  'Gehäuse',
  'Dichtung',
  'Motor',
  'Welle',
  'Lager',
  'Flansch',
  'Kabel',
  'Stecker',
  'Sensor',
  'Filter',
  'Rohr',
  'Träger',
  'Platte',
  'Feder',
  'Kupplung',
  'Getriebe',
  'M8',
  'M10',
  'DN50',
  'DN80',
  '24V',
  '230V',
  'Edelstahl',
  'verzinkt',
  'groß',
  'klein',
  'Größe 3',
  'Ø12',
]
const CURRENCIES = ['EUR', 'EUR', 'EUR', 'USD', 'USD', 'GBP', 'CHF', 'JPY', 'SEK', 'PLN']
const DAY_MS = 86_400_000
const BASE_DAY = Date.UTC(2019, 0, 1) / DAY_MS

/** Deterministic xorshift32 in [0, 1). */
function random(seed: number): () => number {
  let s = seed >>> 0 || 1
  return () => {
    s ^= s << 13
    s >>>= 0
    s ^= s >>> 17
    s ^= s << 5
    s >>>= 0
    return s / 4_294_967_296
  }
}

function amount(rnd: () => number, maxInt: number, scale: number): string {
  const int = Math.floor(rnd() * maxInt)
  const frac = Math.floor(rnd() * 10 ** scale)
  const sign = rnd() < 0.05 ? '-' : ''
  return `${sign}${int}.${String(frac).padStart(scale, '0')}`
}

/** Rows for `sapLikeColumns`, in batches of `batchRows`. Deterministic for a given seed. */
export function* generateRows(count: number, batchRows = BATCH_ROWS, seed = 42): Generator<Row[]> {
  const rnd = random(seed)
  let doc = 0
  let item = 0
  for (let start = 0; start < count; start += batchRows) {
    const n = Math.min(batchRows, count - start)
    const batch: Row[] = new Array(n)
    for (let i = 0; i < n; i++) {
      if (item === 0 || rnd() < 0.2) {
        doc++
        item = 0
      }
      item += 10
      const erdat = BASE_DAY + Math.floor(rnd() * 2000)
      const words = 1 + Math.floor(rnd() * 3)
      let text = WORDS[Math.floor(rnd() * WORDS.length)]
      for (let w = 1; w < words; w++) text += ' ' + WORDS[Math.floor(rnd() * WORDS.length)]
      const second = rnd() < 0.001 ? 86_400 : Math.floor(rnd() * 86_400)
      batch[i] = [
        String(doc).padStart(10, '0'),
        String(item).padStart(6, '0'),
        `MAT-${String(Math.floor(rnd() * 20_000)).padStart(8, '0')}`,
        rnd() < 0.02 ? null : text,
        new Date(erdat * DAY_MS),
        rnd() < 0.1 ? null : new Date((erdat + Math.floor(rnd() * 60)) * DAY_MS),
        second * 1_000_000,
        amount(rnd, 1_000_000, 2),
        amount(rnd, 10_000, 3),
        rnd() < 0.05 ? null : amount(rnd, 100_000, 2),
        CURRENCIES[Math.floor(rnd() * CURRENCIES.length)],
        Math.floor(rnd() * 1000),
      ]
    }
    yield batch
  }
}

export interface StageResult {
  rows: number
  /** Seconds spent in the stage itself (row generation excluded). */
  seconds: number
  files: WrittenFile[]
  bytes: number
}

/** Writes generated batches through ParquetRoller; times only write()/finish(). */
export async function parquetStage(
  batches: Iterable<Row[]>,
  dir: string,
  options: { columns?: Column[]; compression?: Compression; rowGroupRows?: number; maxFileBytes?: number } = {},
): Promise<StageResult> {
  const roller = new ParquetRoller(options.columns ?? sapLikeColumns, {
    dir,
    fileName: (i) => `part-${String(i).padStart(5, '0')}.parquet`,
    compression: options.compression ?? 'SNAPPY',
    rowGroupRows: options.rowGroupRows ?? 100_000,
    maxFileBytes: options.maxFileBytes ?? 1 << 30,
    kvMetadata: { bench: 'parquet-stage' },
  })
  const files: WrittenFile[] = []
  let seconds = 0
  let rows = 0
  for (const batch of batches) {
    const t = performance.now()
    files.push(...(await roller.write(batch)))
    seconds += (performance.now() - t) / 1000
    rows += batch.length
  }
  const t = performance.now()
  files.push(...(await roller.finish()))
  seconds += (performance.now() - t) / 1000
  return { rows, seconds, files, bytes: files.reduce((s, f) => s + f.bytes, 0) }
}

/**
 * Our stage split in two, for comparison with DuckDB's COPY alone: values are converted into column
 * storage untimed, and only the encoding of those columns into Parquet (pages, dictionaries,
 * compression, file write) is timed. Returns seconds of encoding.
 */
export async function encodeOnlyStage(
  batches: Iterable<Row[]>,
  file: string,
  options: { columns?: Column[]; compression?: Compression; rowGroupRows?: number } = {},
): Promise<{ rows: number; seconds: number; convertSeconds: number }> {
  const columns = options.columns ?? sapLikeColumns
  const groupRows = options.rowGroupRows ?? 100_000
  const schema = parquetSchema(columns)
  const writers = columns.map((c, i) => createColumnWriter(c, i, schema[i + 1], groupRows))
  const out = await ParquetFile.create(file, {
    schema,
    codec: codecFor(options.compression ?? 'SNAPPY'),
    kvMetadata: [],
    createdBy: 'bench',
    pageBytes: PAGE_BYTES,
  })
  let rows = 0
  let seconds = 0
  let convertSeconds = 0
  let buffered = 0
  const flush = async () => {
    const t = performance.now()
    await out.writeRowGroup(writers, buffered)
    seconds += (performance.now() - t) / 1000
    for (const w of writers) w.reset()
    rows += buffered
    buffered = 0
  }
  for (const batch of batches) {
    for (let from = 0; from < batch.length; ) {
      const to = Math.min(batch.length, from + groupRows - buffered)
      const t = performance.now()
      for (const w of writers) w.append(batch, from, to, rows + buffered)
      convertSeconds += (performance.now() - t) / 1000
      buffered += to - from
      from = to
      if (buffered === groupRows) await flush()
    }
  }
  if (buffered > 0) await flush()
  const t = performance.now()
  await out.close()
  seconds += (performance.now() - t) / 1000
  return { rows, seconds, convertSeconds }
}

export interface DuckDBStageResult {
  rows: number
  /** Appender: JS rows → DuckDB table. */
  loadSeconds: number
  /** COPY table TO parquet. */
  copySeconds: number
  bytes: number
  threads: number
}

/** The same rows through DuckDB: appender into a table, then COPY TO Parquet (SNAPPY, same row groups). */
export async function duckdbStage(
  batches: Iterable<Row[]>,
  file: string,
  options: { threads?: number; rowGroupRows?: number } = {},
): Promise<DuckDBStageResult> {
  const { DuckDBInstance, dateValue, timeValue } = await import('@duckdb/node-api')
  const threads = options.threads ?? os.availableParallelism()
  const instance = await DuckDBInstance.create(':memory:', { threads: String(threads) })
  const conn = await instance.connect()
  try {
    await conn.run(`CREATE TABLE t (
      VBELN VARCHAR NOT NULL, POSNR VARCHAR NOT NULL, MATNR VARCHAR NOT NULL, ARKTX VARCHAR,
      ERDAT DATE NOT NULL, LFDAT DATE, ERZET TIME NOT NULL,
      NETWR DECIMAL(15,2) NOT NULL, KWMENG DECIMAL(13,3) NOT NULL, NETPR DECIMAL(11,2),
      WAERK VARCHAR NOT NULL, ZAEHL INTEGER NOT NULL)`)
    const appender = await conn.createAppender('t')
    let rows = 0
    let loadSeconds = 0
    for (const batch of batches) {
      const t = performance.now()
      for (const r of batch) {
        appender.appendVarchar(r[0] as string)
        appender.appendVarchar(r[1] as string)
        appender.appendVarchar(r[2] as string)
        if (r[3] === null) appender.appendNull()
        else appender.appendVarchar(r[3] as string)
        appender.appendDate(dateValue((r[4] as Date).getTime() / DAY_MS))
        if (r[5] === null) appender.appendNull()
        else appender.appendDate(dateValue((r[5] as Date).getTime() / DAY_MS))
        appender.appendTime(timeValue(BigInt(r[6] as number)))
        // decimals go in as text; DuckDB's appender casts VARCHAR → DECIMAL exactly
        appender.appendVarchar(r[7] as string)
        appender.appendVarchar(r[8] as string)
        if (r[9] === null) appender.appendNull()
        else appender.appendVarchar(r[9] as string)
        appender.appendVarchar(r[10] as string)
        appender.appendInteger(r[11] as number)
        appender.endRow()
      }
      loadSeconds += (performance.now() - t) / 1000
      rows += batch.length
    }
    let t = performance.now()
    appender.closeSync()
    loadSeconds += (performance.now() - t) / 1000
    t = performance.now()
    const target = file.replaceAll("'", "''")
    await conn.run(`COPY t TO '${target}' (FORMAT parquet, COMPRESSION snappy, ROW_GROUP_SIZE ${options.rowGroupRows ?? 100_000})`)
    const copySeconds = (performance.now() - t) / 1000
    return { rows, loadSeconds, copySeconds, bytes: fs.statSync(file).size, threads }
  } finally {
    conn.closeSync()
    instance.closeSync()
  }
}

function peakRssMiB(): number {
  return process.resourceUsage().maxRSS / 1024
}

async function main(): Promise<void> {
  const args = process.argv.slice(2)
  const rows = Number(args.find((a) => /^\d+$/.test(a)) ?? 1_000_000)
  const option = (name: string) => args.find((a) => a.startsWith(`--${name}=`))?.split('=')[1]
  const compression = (option('compression') ?? 'SNAPPY') as Compression
  const threads = option('duckdb-threads') ? Number(option('duckdb-threads')) : undefined
  const repeat = Number(option('repeat') ?? 1)
  const skipDuck = args.includes('--no-duckdb')
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'parquet-stage-'))
  const fmt = (n: number) => Math.round(n).toLocaleString('en-US')
  try {
    const t = performance.now()
    for (const _ of generateRows(rows)) void _
    const genSeconds = (performance.now() - t) / 1000
    console.log(
      `${fmt(rows)} rows × ${sapLikeColumns.length} columns in batches of ${fmt(BATCH_ROWS)}, best of ${repeat}; ` +
        `generating them takes ${genSeconds.toFixed(2)} s (excluded from both sides)`,
    )

    let ours: StageResult | undefined
    for (let i = 0; i < repeat; i++) {
      const run = await parquetStage(generateRows(rows), dir, { compression })
      for (const f of run.files) fs.rmSync(f.localPath)
      if (!ours || run.seconds < ours.seconds) ours = run
    }
    if (!ours) return
    const oursRate = ours.rows / ours.seconds
    console.log(
      `ParquetRoller (${compression}):  ${ours.seconds.toFixed(2)} s  ${fmt(oursRate).padStart(9)} rows/s  ` +
        `${(ours.bytes / 2 ** 20).toFixed(1)} MiB in ${ours.files.length} file(s); peak RSS so far ${peakRssMiB().toFixed(0)} MiB`,
    )
    const split = await encodeOnlyStage(generateRows(rows), path.join(dir, 'encode-only.parquet'), { compression })
    console.log(
      `  of which: conversion into columns ${split.convertSeconds.toFixed(2)} s, ` +
        `encoding columns → Parquet ${split.seconds.toFixed(2)} s (${fmt(split.rows / split.seconds)} rows/s)`,
    )
    if (skipDuck) return

    let duck: DuckDBStageResult | undefined
    for (let i = 0; i < repeat; i++) {
      const file = path.join(dir, 'duckdb.parquet')
      const run = await duckdbStage(generateRows(rows), file, { threads })
      fs.rmSync(file)
      if (!duck || run.loadSeconds + run.copySeconds < duck.loadSeconds + duck.copySeconds) duck = run
    }
    if (!duck) return
    const duckRate = duck.rows / (duck.loadSeconds + duck.copySeconds)
    const copyRate = duck.rows / duck.copySeconds
    console.log(
      `DuckDB (threads=${duck.threads}):      ${(duck.loadSeconds + duck.copySeconds).toFixed(2)} s  ${fmt(duckRate).padStart(9)} rows/s  ` +
        `(appender ${duck.loadSeconds.toFixed(2)} s + COPY ${duck.copySeconds.toFixed(2)} s; COPY alone ${fmt(copyRate)} rows/s)  ` +
        `${(duck.bytes / 2 ** 20).toFixed(1)} MiB; peak RSS (whole process) ${peakRssMiB().toFixed(0)} MiB`,
    )
    console.log(
      `ratio ours/DuckDB, JS rows → Parquet file (like for like): ${(oursRate / duckRate).toFixed(2)}; ` +
        `ours/DuckDB COPY alone (data already in DuckDB's columns): ${(oursRate / copyRate).toFixed(2)}; ` +
        `our column encoding alone/COPY alone: ${(split.rows / split.seconds / copyRate).toFixed(2)}`,
    )
  } finally {
    fs.rmSync(dir, { recursive: true, force: true })
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  main().catch((e) => {
    console.error(e)
    process.exitCode = 1
  })
}
