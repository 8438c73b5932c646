/**
 * Fixed names of the installation layout, in a module that imports nothing: `query` and `verify`
 * reach them without loading the schema library (see record-check.ts).
 */
export const SERVICEPACK_DIR = '.servicepack';
export const BUILDINFO_FILE = 'BUILDINFO.json';
export const STATE_FILE = 'state.json';
export const JOURNAL_FILE = 'journal.json';
/** the record in each backup folder (`backup/<pack id>/`) */
export const BACKUP_RECORD = 'backup.json';
