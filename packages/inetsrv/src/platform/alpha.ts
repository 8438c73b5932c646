import type { Platform } from '../platform.js';

const PAGE = 8192;

/**
 * DEC Alpha AXP: 8 KiB pages. Reads stay 16 pages long, so a chunk is 128 KiB here: fewer, larger
 * transfers suit the wider memory bus, and a chunk never splits a page.
 */
export const platform: Platform = {
  arch: 'alpha',
  name: 'DEC Alpha AXP',
  pageSize: PAGE,
  ioChunkSize: 16 * PAGE,
};
