#!/usr/bin/env -S node --max-old-space-size=512 --liftoff-only
// Entry point of the installed command: runs the TypeScript sources through tsx's loader, with the
// V8 flags of `npm start` (measured in the README's Performance section: they keep the heap near
// what a run really uses instead of letting it grow to ~490 MiB).
import { register } from 'tsx/esm/api'

register()
await import('../src/main.ts')
