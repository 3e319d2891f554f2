/**
 * Bundles the dashboard (web/) into dist/dashboard/: app.js (web/main.ts with @urql/core and
 * graphql-ws, minified), app.css and index.html. Run by `npm run build`, so `npm ci` produces it;
 * the service serves these files at / (src/api/dashboard-page.ts). Nothing is fetched at run time.
 */
import { copyFile, mkdir } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { build } from 'esbuild'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const out = join(root, 'dist', 'dashboard')

/** Also called by test/e2e/dashboard.test.ts, so a test run from the sources serves the bundle of these sources. */
export async function buildDashboard(): Promise<void> {
  await mkdir(out, { recursive: true })
  await build({
    entryPoints: [join(root, 'web', 'main.ts')],
    outfile: join(out, 'app.js'),
    bundle: true,
    format: 'esm',
    minify: true,
    // Browsers of the last few years; nothing here needs a polyfill.
    target: ['es2022'],
    tsconfig: join(root, 'web', 'tsconfig.json'),
    logLevel: 'warning',
  })
  await copyFile(join(root, 'web', 'style.css'), join(out, 'app.css'))
  await copyFile(join(root, 'web', 'index.html'), join(out, 'index.html'))
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) await buildDashboard()
