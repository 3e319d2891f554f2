/**
 * Why the API could not listen, in the words of the setting to change: a port in use or a HOST that
 * is not this machine's is a setting to fix, not a crash to report with stack traces.
 */
class ListenRefused extends Error {
  // main.ts prints a StartupRefused's message alone and exits with 2.
  override readonly name = 'StartupRefused'
}

export function listenRefusal(err: NodeJS.ErrnoException, listen: { host: string; port: number }): Error {
  const where = `${listen.host}:${listen.port}`
  switch (err.code) {
    case 'EADDRINUSE':
      return new ListenRefused(
        `cannot listen on ${where}: another process already uses port ${listen.port}. Set PORT to a free port, or stop the other process`,
      )
    case 'EACCES':
      return new ListenRefused(
        `cannot listen on ${where}: port ${listen.port} needs privileges this process lacks. Set PORT to 1024 or above`,
      )
    case 'EADDRNOTAVAIL':
      return new ListenRefused(
        `cannot listen on ${where}: HOST "${listen.host}" is not an address of this machine. Set HOST to one of its addresses, 127.0.0.1 (this machine only) or 0.0.0.0 (all)`,
      )
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
    case 'EAI_FAIL':
      return new ListenRefused(
        `cannot listen on ${where}: HOST "${listen.host}" is not a name this machine can resolve. Set HOST to an address such as 127.0.0.1 or 0.0.0.0`,
      )
    default:
      return err
  }
}

/** Errors start() reports itself: the server never listened, so nothing else needs to log them. */
export const isListenError = (err: NodeJS.ErrnoException) => err.syscall === 'listen' || err.syscall === 'getaddrinfo'
