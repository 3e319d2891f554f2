/** Bytes and errors shared by the streaming page reader (results-scanner.ts, page-envelope.ts). */

/** The body is not the JSON page we expect. `reason` decides the message the caller gives. */
export class BodyShapeError extends Error {
  constructor(
    readonly reason: 'syntax' | 'no-results' | 'too-large',
    message: string,
  ) {
    super(message)
  }
}

export const QUOTE = 0x22
export const BACKSLASH = 0x5c
export const LBRACE = 0x7b
export const RBRACE = 0x7d
export const LBRACKET = 0x5b
export const RBRACKET = 0x5d
export const COMMA = 0x2c
export const COLON = 0x3a

/** JSON whitespace. */
export const isSpace = (c: number): boolean => c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09
