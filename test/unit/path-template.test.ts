import { describe, expect, it } from 'vitest'
import { checkPathTemplate, DEFAULT_PATH_TEMPLATE, renderPathTemplate } from '../../src/storage/path-template.js'

const values = {
  pipeline: 'Sales Items/EU',
  entity: 'EntityOfZSALES',
  at: new Date('2026-03-04T05:06:07Z'),
  runId: '01abc',
  mode: 'DELTA_INIT',
}

describe('path templates', () => {
  it('renders every placeholder from the run, in UTC, path-safe', () => {
    expect(renderPathTemplate('{pipeline}/{entity}/{yyyy}-{MM}-{dd}T{HH}{mm}/{mode}/{runId}', values)).toBe(
      'Sales_Items_EU/EntityOfZSALES/2026-03-04T0506/delta_init/01abc',
    )
    expect(renderPathTemplate(DEFAULT_PATH_TEMPLATE, values)).toBe('Sales_Items_EU/2026/03/04/01abc')
    expect(renderPathTemplate('{runId}', { ...values, pipeline: '../..' })).toBe('01abc')
    expect(renderPathTemplate('{pipeline}/{runId}', { ...values, pipeline: '..' })).toBe('_/01abc')
    // object stores drop trailing dots of a name: values never end in one
    expect(renderPathTemplate('{pipeline}/{runId}', { ...values, pipeline: 'sales v2.' })).toBe('sales_v2_/01abc')
  })

  it.each([
    ['', 'must not be empty'],
    ['{pipeline}/{yyyy}', 'must contain {runId}'],
    ['{pipeline}/{runid}', 'unknown placeholder {runid}'],
    ['{pipeline/{runId}', 'unknown placeholder {pipeline/{runId}'],
    ['{runId}/{mode', 'unclosed placeholder'],
    ['/abs/{runId}', 'no leading /'],
    ['a/../{runId}', 'must not contain . or ..'],
    ['a\\b/{runId}', 'backslashes'],
    ['x}/{runId}', 'stray'],
    ['a//{runId}', 'empty segments'],
    ['v1./{runId}', 'ending in a dot'],
    ['a\tb/{runId}', 'control characters'],
  ])('refuses %j: %s', (template, problem) => {
    expect(checkPathTemplate(template)).toContain(problem)
  })

  it('accepts the default and templates with every placeholder', () => {
    expect(checkPathTemplate(DEFAULT_PATH_TEMPLATE)).toBeNull()
    expect(checkPathTemplate('lake/{pipeline}/{entity}/{yyyy}/{MM}/{dd}/{HH}{mm}_{mode}_{runId}')).toBeNull()
  })
})
