import { mkdirSync, readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

/** The pid recorded in the file, or undefined when there is no (well-formed) file. */
export function readPid(file: string): number | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  const m = /^\s*(\d{1,10})\s*$/.exec(text);
  const pid = m ? Number(m[1]) : 0;
  return pid > 1 ? pid : undefined;
}

/**
 * Whether `pid` is a live inetsrv process. A zombie counts as gone (it has exited; its parent just
 * has not reaped it), and on Linux a pid reused by another program after a crash is not mistaken
 * for the server (the server names itself through process.title, which sets /proc/<pid>/comm), so
 * a stale file never blocks a start or makes stop signal a stranger.
 */
export function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    if (/^\d+ \(.*\) Z /.test(stat)) return false;
    return readFileSync(`/proc/${pid}/comm`, 'utf8').startsWith('inetsrv');
  } catch {
    return true;
  }
}

/** Written whole or not at all (temp file + rename), so a reader never sees a half-written pid. */
export function writePidFile(file: string, pid: number): void {
  mkdirSync(dirname(file), { recursive: true });
  const tmp = `${file}.${pid}.tmp`;
  writeFileSync(tmp, `${pid}\n`, { mode: 0o644 });
  renameSync(tmp, file);
}

/** Removes the file only if it still names `pid`: a newer instance's file is not ours to delete. */
export function removePidFile(file: string, pid: number): void {
  if (readPid(file) !== pid) return;
  try {
    unlinkSync(file);
  } catch {
    // Already gone: the outcome we wanted.
  }
}

export function removeStalePidFile(file: string): void {
  try {
    unlinkSync(file);
  } catch {
    // Nothing to remove.
  }
}
