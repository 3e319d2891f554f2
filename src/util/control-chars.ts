/**
 * Control characters, refused in every string input (API and command line alike): NUL breaks
 * PostgreSQL, ESC sequences rewrite the terminal of whoever prints the value, and none belongs in
 * a name, host, key or path.
 */

/** C0 controls, DEL and C1 controls. */
export const CONTROL = /[\u0000-\u001f\u007f-\u009f]/
/** The same, tab and line breaks allowed (multi-line inputs such as `filter`). */
export const CONTROL_BUT_LINES = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]/

/** The first control character in `text` as U+XXXX, or undefined. */
export function firstControl(text: string, pattern: RegExp = CONTROL): string | undefined {
  const bad = pattern.exec(text)
  return bad ? `U+${bad[0].charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}` : undefined
}

/** `text` fit for a terminal: control characters shown as \uXXXX (values stored before they were refused). */
export const printable = (text: string): string =>
  text.replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)
