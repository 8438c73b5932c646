/**
 * Shared by the wizard's tests: keys as a terminal sends them, waiting for ink's frames (React 19
 * batches updates, so a frame is awaited, never assumed), a scripted UI for step tests, and
 * installations and packs built with the core's own fixtures.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { stripVTControlCharacters } from 'node:util';
import {
  buildInfo,
  makePack,
  tempDir,
  type Vendor,
  writeTree,
  levelFiles,
} from '../../../packages/core/test/install-fixtures.js';
import { writePack } from '../../../packages/core/src/pack/pack-write.js';
import { sha256Bytes } from '../../../packages/core/src/support/hash.js';
import { parsePrivateKey } from '../../../packages/core/src/trust/trust.js';
import type { Answer, AskName, DisplayName, ScreenMap, Stage, WizardUi } from '../../src/wizard/ui.js';
import { WizardCancelled } from '../../src/wizard/ui.js';
import type { WizardRequest } from '../../src/wizard/route.js';

export const KEY = {
  enter: '\r',
  esc: '\u001B',
  up: '\u001B[A',
  down: '\u001B[B',
  right: '\u001B[C',
  left: '\u001B[D',
  tab: '\t',
  shiftTab: '\u001B[Z',
  space: ' ',
  pageUp: '\u001B[5~',
  pageDown: '\u001B[6~',
  home: '\u001B[H',
  end: '\u001B[F',
  ctrlC: '\u0003',
} as const;

export interface Rendered {
  lastFrame(): string | undefined;
  stdin: { write(data: string): void };
}

export const delay = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * ink re-subscribes a component's key handler in a passive effect, which React runs from a
 * setImmediate after the render. On a loaded machine a timer can fire first and the next key would
 * reach the old handler; one more setImmediate of ours runs after React's.
 */
const settle = () => new Promise<void>((r) => setImmediate(r));

export function frame(r: Rendered): string {
  return stripVTControlCharacters(r.lastFrame() ?? '');
}

/** Polls the last frame until it matches; the failure shows the frame it saw. */
export async function waitFor(
  r: Rendered,
  want: string | RegExp | ((f: string) => boolean),
  timeoutMs = 5000,
): Promise<string> {
  const test =
    typeof want === 'function'
      ? want
      : typeof want === 'string'
        ? (f: string) => f.includes(want)
        : (f: string) => want.test(f);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const f = frame(r);
    if (test(f)) {
      await settle();
      return f;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${String(want)}; last frame:\n${f}`);
    await delay(10);
  }
}

/** One key at a time, each given a moment to be parsed (a lone Esc is only flushed on the next tick). */
export async function press(r: Rendered, ...keys: string[]): Promise<void> {
  for (const k of keys) {
    r.stdin.write(k);
    await delay(20);
    await settle();
  }
}

export function request(over: Partial<WizardRequest> = {}): WizardRequest {
  return {
    flow: 'install',
    packs: [],
    trustFiles: [],
    allowUnsigned: false,
    backup: true,
    restart: true,
    modified: 'stop',
    force: false,
    ...over,
  };
}

type Script = { [K in AskName]?: (view: ScreenMap[K]['view']) => Answer<K> | 'cancel' };

/** A UI that answers from a script and records every screen (create-astro's mockPrompt). */
export class ScriptedUi implements WizardUi {
  readonly asked: { name: AskName; view: unknown }[] = [];
  readonly displayed: { name: DisplayName; view: unknown }[] = [];
  product?: string;
  leave = false;
  private readonly queues = new Map<AskName, ((view: never) => unknown)[]>();

  /** Answers for one screen, used in order; the last one repeats. */
  on<K extends AskName>(name: K, ...answers: ((view: ScreenMap[K]['view']) => Answer<K> | 'cancel')[]): this {
    this.queues.set(name, answers as ((view: never) => unknown)[]);
    return this;
  }

  async ask<K extends AskName>(name: K, view: ScreenMap[K]['view']): Promise<Answer<K>> {
    this.asked.push({ name, view });
    const q = this.queues.get(name);
    const f = (q && q.length > 1 ? q.shift() : q?.[0]) as Script[K] | undefined;
    if (!f) throw new Error(`the script has no answer for the ${name} screen`);
    const a = (f as (v: ScreenMap[K]['view']) => Answer<K> | 'cancel')(view);
    if (a === 'cancel') throw new WizardCancelled();
    return a;
  }

  display<K extends DisplayName>(name: K, view: ScreenMap[K]['view']): void {
    this.displayed.push({ name, view });
  }

  setProduct(name: string): void {
    this.product = name;
  }

  readonly stages: Stage[] = [];
  setStage(stage: Stage): void {
    this.stages.push(stage);
  }

  leaveRequested(): boolean {
    return this.leave;
  }

  names(): string[] {
    return this.asked.map((a) => a.name);
  }

  last<K extends AskName>(name: K): ScreenMap[K]['view'] {
    const found = [...this.asked].reverse().find((a) => a.name === name);
    if (!found) throw new Error(`no ${name} screen was shown`);
    return found.view as ScreenMap[K]['view'];
  }
}

export const next = <V>(value: V) => ({ nav: 'next' as const, value });
export const back = () => ({ nav: 'back' as const });

export const EULA = `inetsrv TEST SERVICE PACK
END-USER LICENSE AGREEMENT

${Array.from({ length: 30 }, (_, i) => `${i + 1}. Clause number ${i + 1} of the test agreement, long enough to need a line of its own here.`).join('\n')}

END OF AGREEMENT
`;

/** A signed pack like makePack's, carrying an EULA.txt document as the builder ships it (or a license under another name). */
export async function makePackWithEula(
  vendor: Vendor,
  spec: { level: number; fromLevels: number[]; arch?: 'x86' | 'alpha' },
  outDir: string,
  text = EULA,
  name = 'EULA.txt',
): Promise<string> {
  const made = await makePack(vendor, spec, outDir);
  const work = await tempDir('sp-wiz-eula-');
  const payload = join(work, 'payload');
  await writeTree(payload, levelFiles(spec.level, spec.arch ?? 'x86'));
  const eula = join(work, name);
  await writeFile(eula, text);
  const manifest = {
    ...made.manifest,
    documents: [{ name, sha256: sha256Bytes(text), size: Buffer.byteLength(text) }],
  };
  await writePack({
    out: made.path,
    manifest,
    privateKeys: [parsePrivateKey(vendor.privateKeyPem)],
    payloadDir: payload,
    documents: [{ name, path: eula }],
  });
  return made.path;
}

/** An installation whose state record disagrees with BUILDINFO.json (the record says SP1). */
export async function makeInconsistent(root: string): Promise<void> {
  await mkdir(join(root, '.servicepack'), { recursive: true });
  const bi = buildInfo(1);
  await writeFile(
    join(root, '.servicepack', 'state.json'),
    `${JSON.stringify({ format: 1, product: bi.product, version: bi.version, arch: bi.arch, level: 1, hotfixes: [], installed: [], files: {}, history: [] }, null, 2)}\n`,
  );
}
