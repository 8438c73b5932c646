import { lstatSync } from 'node:fs';
import { join } from 'node:path';
import { SERVICEPACK_DIR, STATE_FILE } from '../installation/names.js';
import { PARALLEL_MIN_FILES, startHashWorker } from '../support/hash.js';

/**
 * The fewest bytes a state record can spend on one file, written without indentation:
 * `"p":{"sha256":"` + 64 hex digits + `","size":0,"mode":0},`.
 */
const MIN_RECORD_BYTES_PER_FILE = 100;

/**
 * `verify`'s first step, before core's verify modules load: the hash worker started ahead
 * (startHashWorker) when the state record is large enough to list the files that make hashFiles
 * use one, so that the thread's start-up runs beside the loading and the record's reading. A
 * small tree would pay that start-up (about 60 ms of CPU, 40 ms of wall time measured on a
 * 28-file release) for nothing. Only the record's size is looked at, and a wrong guess costs
 * time, never a result: hashFiles starts its own worker when it gets a long list and none waits.
 */
export function startVerifyWorker(root: string): void {
  try {
    const st = lstatSync(join(root, SERVICEPACK_DIR, STATE_FILE), { throwIfNoEntry: false });
    if (st?.isFile() && st.size >= PARALLEL_MIN_FILES * MIN_RECORD_BYTES_PER_FILE) startHashWorker();
  } catch {
    // detection reads the record and words what is wrong with it
  }
}
