/** Bad command-line input: main.ts prints it with the usage text and exits 2. */
export class UsageError extends Error {}
