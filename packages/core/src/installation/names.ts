/**
 * Fixed names of the installation layout, in a module that imports nothing: `query` and `verify`
 * reach them without loading the schema library (see record-check.ts).
 */
/** The product servicepack services, as release trees' BUILDINFO.json names it; messages say it too. */
export const PRODUCT = 'inetsrv';
export const SERVICEPACK_DIR = '.servicepack';
export const BUILDINFO_FILE = 'BUILDINFO.json';
export const STATE_FILE = 'state.json';
export const JOURNAL_FILE = 'journal.json';
export const LOCK_FILE = 'lock';
/** The longest wait for a busy lock (`--wait`, the answer file's `wait`): a day, whatever is asked. */
export const MAX_LOCK_WAIT_SECONDS = 86_400;

// the folders of .servicepack/ (docs/transactions.md §1)
export const STAGING_DIR = 'staging';
export const BACKUP_DIR = 'backup';
/** where `uninstall --overwrite-modified` keeps files changed since the install, per transaction */
export const SAVED_DIR = 'saved';
export const GARBAGE_DIR = 'garbage';
export const LOG_DIR = 'log';
export const TRUST_DIR = 'trust';
/** the record in each backup folder (`backup/<pack id>/`) */
export const BACKUP_RECORD = 'backup.json';
