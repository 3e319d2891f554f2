/**
 * Expiry owns `<table>/data` and the library owns `<table>/metadata`; a path template may put run
 * folders there (`{pipeline}/data/{runId}`), and then expiry would remove run files manifest.json
 * still lists. runFoldersInside (orchestrator/lake/maintain.ts) decides from the template whether any
 * run's folder can lie there; the property: whenever it says no, no run's folder does, whatever the
 * run's id, time and mode.
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { pipelineTablePaths, runFoldersInside } from '../../src/orchestrator/lake/maintain.js'
import { runPrefix } from '../../src/orchestrator/run/context.js'
import type { PinnedWorld } from '../../src/orchestrator/run/pinned.js'
import { checkPathTemplate } from '../../src/storage/path-template.js'

const world = (pipelineName: string, pathTemplate: string, entitySet = 'EntityOfZSALES', currentState = false) =>
  ({
    pipelineName,
    selection: { entitySet },
    output: { pathTemplate, table: 'ICEBERG', currentState },
  }) as unknown as PinnedWorld

describe('run folders inside a table folder expiry cleans', () => {
  it.each([
    ['{pipeline}/{yyyy}/{MM}/{dd}/{runId}', false],
    ['{pipeline}/{runId}', false],
    ['{pipeline}/database/{runId}', false],
    ['{pipeline}/data{runId}', false],
    ['{pipeline}/data/{runId}', true],
    ['{pipeline}/data/{yyyy}/{runId}', true],
    ['{pipeline}/metadata/{runId}', true],
    ['{pipeline}/{entity}/{runId}', true], // the entity set is named "data" below
  ])('%s → %s', (template, inside) => {
    expect(runFoldersInside(world('items', template, 'data'), 'items')).toBe(inside)
  })

  it("the current-state table's folders too", () => {
    const w = world('items', '{pipeline}_current/data/{runId}', 'E', true)
    expect(pipelineTablePaths(w)).toEqual(['items', 'items_current'])
    expect(runFoldersInside(w, 'items')).toBe(false)
    expect(runFoldersInside(w, 'items_current')).toBe(true)
  })

  it('whenever it says no, no run of any id, time or mode writes under <table>/data/ or <table>/metadata/', () => {
    const literal = fc.constantFrom('data', 'metadata', 'items', 'x', 'dat', '_current', 'runs')
    const placeholder = fc.constantFrom('{pipeline}', '{entity}', '{yyyy}', '{MM}', '{dd}', '{HH}', '{mm}', '{mode}', '{runId}')
    const segment = fc.array(fc.oneof(literal, placeholder), { minLength: 1, maxLength: 3 }).map((parts) => parts.join(''))
    // Mostly starting where a table lies, so that templates reaching into data/ or metadata/ are frequent.
    const head = fc.oneof(fc.constantFrom('{pipeline}', '{pipeline}_current', '{entity}'), segment)
    const template = fc
      .tuple(head, fc.array(segment, { minLength: 1, maxLength: 4 }))
      .map(([h, rest]) => [h, ...rest].join('/'))
      .filter((t) => checkPathTemplate(t) === null)
    fc.assert(
      fc.property(
        template,
        fc.constantFrom('items', 'data', 'Sales Items', 'metadata'),
        fc.constantFrom('data', 'metadata', 'EntityOfZSALES'),
        fc.constantFrom('', '_current'),
        fc.stringMatching(/^c[a-z0-9]{8,24}$/),
        fc.date({ min: new Date('2000-01-01'), max: new Date('2100-01-01'), noInvalidDate: true }),
        fc.constantFrom('FULL', 'DELTA_INIT', 'DELTA', 'RECOVERY'),
        (t, name, entity, suffix, id, queuedAt, extractionMode) => {
          const w = world(name, t, entity, true)
          const tablePath = `${pipelineTablePaths(w)[0]}${suffix}`
          if (runFoldersInside(w, tablePath)) return
          const folder = `${runPrefix(w, { id, queuedAt, extractionMode })}/`
          expect(folder.startsWith(`${tablePath}/data/`) || folder.startsWith(`${tablePath}/metadata/`)).toBe(false)
        },
      ),
      { numRuns: 2000 },
    )
  })
})
