#!/usr/bin/env -S node --max-old-space-size=512 --max-semi-space-size=16 --liftoff-only
// Entry point of the installed command: runs the JavaScript compiled to dist/ at install (`npm run
// build`), with the V8 flags of `npm start`, measured in the README's Performance section: they keep
// the heap near what a run really uses instead of letting it grow to ~490 MiB (the semi-space bound is
// Node 20's default; Node 24 would allow a young generation four times as large), and compiled code
// spares the TypeScript loader's memory. From the sources, without a build: `npx tsx src/main.ts`.
import { existsSync } from 'node:fs'

const main = new URL('../dist/src/main.js', import.meta.url)
if (!existsSync(main)) {
  console.error(
    'delta-extractor: dist/ is missing; run `npm run build` in the project folder (or run the sources with `npx tsx src/main.ts`)',
  )
  process.exit(1)
}
await import(main.href)
