/**
 * Basis modules every ABAP system has and RFC clients use for connection checks: RFC_PING,
 * RFC_PING_AND_WAIT (node-rfc's own cancel tests use it for a long-running call) and RFC_SYSTEM_INFO.
 */
import { CHAR, INT, STRUCT } from './iface.js'
import type { FunctionModule } from './runtime.js'
import { sleep } from './runtime.js'

const RFCSI = {
  RFCPROTO: CHAR(3),
  RFCCHARTYP: CHAR(4),
  RFCINTTYP: CHAR(3),
  RFCFLOTYP: CHAR(3),
  RFCDEST: CHAR(32),
  RFCHOST: CHAR(8),
  RFCSYSID: CHAR(8),
  RFCDATABS: CHAR(8),
  RFCDBHOST: CHAR(32),
  RFCDBSYS: CHAR(10),
  RFCSAPRL: CHAR(4),
  RFCMACH: CHAR(5),
  RFCOPSYS: CHAR(10),
  RFCTZONE: CHAR(6),
  RFCDAYST: CHAR(1),
  RFCIPADDR: CHAR(15),
  RFCKERNRL: CHAR(4),
  RFCHOST2: CHAR(32),
  RFCSI_RESV: CHAR(12),
  RFCIPV6ADDR: CHAR(45),
}

export const SYSTEM_MODULES: readonly FunctionModule[] = [
  { iface: { name: 'RFC_PING', params: [] }, handler: () => ({}) },
  {
    iface: { name: 'RFC_PING_AND_WAIT', params: [{ name: 'SECONDS', dir: 'IMPORT', type: INT }] },
    handler: async (ctx, input) => {
      await sleep((input.SECONDS as number) * 1000, ctx.signal)
      return {}
    },
  },
  {
    iface: {
      name: 'RFC_SYSTEM_INFO',
      params: [
        { name: 'CURRENT_RESOURCES', dir: 'EXPORT', type: INT },
        { name: 'MAXIMAL_RESOURCES', dir: 'EXPORT', type: INT },
        { name: 'RECOMMENDED_DELAY', dir: 'EXPORT', type: INT },
        { name: 'RFCSI_EXPORT', dir: 'EXPORT', type: STRUCT(RFCSI) },
      ],
    },
    handler: () => ({
      CURRENT_RESOURCES: 8,
      MAXIMAL_RESOURCES: 10,
      RECOMMENDED_DELAY: 0,
      RFCSI_EXPORT: {
        RFCPROTO: '011',
        RFCCHARTYP: '4103', // UTF-16LE: a Unicode system
        RFCINTTYP: 'LIT',
        RFCFLOTYP: 'IE3',
        RFCDEST: 'simhost_SIM_00',
        RFCHOST: 'simhost',
        RFCSYSID: 'SIM',
        RFCDATABS: 'SIM',
        RFCDBHOST: 'simhost',
        RFCDBSYS: 'HDB',
        RFCSAPRL: '758',
        RFCMACH: '  390',
        RFCOPSYS: 'Linux',
        RFCTZONE: '     0',
        RFCDAYST: '',
        RFCIPADDR: '127.0.0.1',
        RFCKERNRL: '793',
        RFCHOST2: 'simhost',
        RFCSI_RESV: '',
        RFCIPV6ADDR: '127.0.0.1',
      },
    }),
  },
]
