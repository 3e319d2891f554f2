import { expect, it } from 'vitest'
import { humanBytes } from '../../src/cli/progress-bar.js'

it('shows small files in KB, larger ones in MB and GB', () => {
  expect([0, 512, 48_300, 999_949, 1_000_000, 734_000_000, 2_500_000_000].map(humanBytes)).toEqual([
    '0.0 KB',
    '0.5 KB',
    '48.3 KB',
    '999.9 KB',
    '1.0 MB',
    '734.0 MB',
    '2.50 GB',
  ])
})
