/**
 * What the server needs to know about the processor it was built for. A release carries only its
 * own architecture's module (lib/platform/<arch>.js), so it is found at run time, not imported.
 */
export interface Platform {
  arch: string;
  name: string;
  /** The VM page size of the architecture; file reads are sized in whole pages. */
  pageSize: number;
  /** Bytes read from a file per write to the socket: large enough to fill a TCP window, small enough to interleave clients. */
  ioChunkSize: number;
}

export async function loadPlatform(arch: string): Promise<Platform> {
  // The name comes from BUILDINFO.json, already checked against a strict pattern: no path can be built from it.
  const mod = (await import(`./platform/${arch}.js`)) as { platform?: Platform };
  if (!mod.platform || mod.platform.arch !== arch) throw new Error(`platform module for ${arch} does not describe ${arch}`);
  return mod.platform;
}

export function describePlatform(p: Platform): string {
  return `${p.name} (page size ${p.pageSize}, I/O chunk ${p.ioChunkSize})`;
}
