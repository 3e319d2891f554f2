import type { Destination } from '../storage/destination.js'

/**
 * The destination with each stored object (putFile, putText) timed, retries inside included: what a
 * run waits for per object. Everything else passes through untouched.
 */
export function timedDestination(destination: Destination, stored: (seconds: number) => void): Destination {
  const timed =
    <A extends unknown[], R>(op: (...args: A) => Promise<R>) =>
    async (...args: A): Promise<R> => {
      const started = performance.now()
      try {
        return await op(...args)
      } finally {
        stored((performance.now() - started) / 1000)
      }
    }
  // Forwarded explicitly, bound: the implementations keep state in private fields.
  return {
    uri: destination.uri,
    uriOf: (key) => destination.uriOf(key),
    tableUriOf: (key) => destination.tableUriOf(key),
    putFile: timed((key, path, signal, options) => destination.putFile(key, path, signal, options)),
    putText: timed((key, body, signal) => destination.putText(key, body, signal)),
    putTextIfAbsent: timed((key, body, signal) => destination.putTextIfAbsent(key, body, signal)),
    getText: (key, signal) => destination.getText(key, signal),
    getBytes: (key, signal) => destination.getBytes(key, signal),
    remove: (key, signal) => destination.remove(key, signal),
    removePrefix: (prefix, signal) => destination.removePrefix(prefix, signal),
    probe: (signal) => destination.probe(signal),
    close: () => destination.close?.(),
  }
}
