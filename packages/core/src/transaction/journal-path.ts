/**
 * The journal's path rule, in a module of its own: journal.ts applies it to a journal this process
 * builds, journal-schema.ts to one read back, and journal.ts needs the schema's types.
 */

/** Paths in the journal are root-relative POSIX paths; nothing in it may point outside the root. */
export function journalPathProblem(p: string): string | undefined {
  if (p.length === 0 || p.length > 4096) return 'empty or too long';
  if (p.startsWith('/') || p.includes('\\') || p.includes('\0')) return 'absolute or non-POSIX';
  if (p.split('/').some((s) => s === '' || s === '.' || s === '..')) return 'empty, "." or ".." segment';
  return undefined;
}
