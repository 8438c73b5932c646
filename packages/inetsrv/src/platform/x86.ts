import type { Platform } from '../platform.js';

const PAGE = 4096;

/** Intel x86: 4 KiB pages; 16 pages per read matches the 64 KiB transfer size the file cache favours. */
export const platform: Platform = {
  arch: 'x86',
  name: 'Intel x86',
  pageSize: PAGE,
  ioChunkSize: 16 * PAGE,
};
