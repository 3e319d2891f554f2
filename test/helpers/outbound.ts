import { OutboundPolicy, type OutboundPolicyOptions } from '../../src/net/outbound-policy.js'

/**
 * The tests' SAP simulator and storage emulators listen on 127.0.0.1, which the service refuses by
 * default: tests allow loopback (as ALLOW_LOOPBACK=true does), and nothing else changes.
 */
export const TEST_OUTBOUND_OPTIONS: OutboundPolicyOptions = { allowLoopback: true, allow: [] }
export const TEST_OUTBOUND = new OutboundPolicy(TEST_OUTBOUND_OPTIONS)
