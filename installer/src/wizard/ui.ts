import type { InstallChoices } from './model.js';
import type { ProgressView } from './progress.js';
import type {
  ErrorView,
  FinishView,
  InstallationView,
  LicenseView,
  OptionsView,
  RemoveView,
  RootView,
  UpdateView,
  WelcomeView,
  WorkingView,
} from './views.js';

/**
 * The seam between the steps and the screen. A step asks a question with `ask(screen, view)` and
 * awaits the answer; the ink app renders whatever the controller holds and answers through it.
 * Step tests replace the whole thing with a scripted UI, component tests render one screen alone.
 */

/** Each screen: the view it renders and the value its forward answer carries. */
export interface ScreenMap {
  welcome: { view: WelcomeView; value: undefined };
  root: { view: RootView; value: string };
  installation: { view: InstallationView; value: 'next' | 'change-root' };
  update: { view: UpdateView; value: string };
  remove: { view: RemoveView; value: string };
  license: { view: LicenseView; value: undefined };
  options: { view: OptionsView; value: InstallChoices };
  finish: { view: FinishView; value: undefined };
  error: { view: ErrorView; value: 'close' | 'action' };
  /** shown, never answered: the steps replace it when their work is done */
  working: { view: WorkingView; value: never };
  progress: { view: ProgressView; value: never };
}
export type ScreenName = keyof ScreenMap;
export type AskName = Exclude<ScreenName, 'working' | 'progress'>;
export type DisplayName = 'working' | 'progress';

export type Answer<K extends ScreenName> = { nav: 'back' } | { nav: 'next'; value: ScreenMap[K]['value'] };

/** A name in the bar across the top (each flow has its own list). */
export type Stage = string;

export type Shown = {
  [K in ScreenName]: { id: number; name: K; view: ScreenMap[K]['view']; answer: (a: Answer<K>) => void };
}[ScreenName];

export interface UiSnapshot {
  screen?: Shown;
  stage: Stage;
  stages: readonly Stage[];
  /** the product's display name once known, for the title bar */
  product?: string;
  /** the administrator asked to leave once the running transaction has ended */
  leaving: boolean;
  cancelled: boolean;
}

/** What steps may do with the screen. */
export interface WizardUi {
  ask<K extends AskName>(name: K, view: ScreenMap[K]['view']): Promise<Answer<K>>;
  display<K extends DisplayName>(name: K, view: ScreenMap[K]['view']): void;
  setProduct(name: string): void;
  /** where the wizard is, for the bar across the top (the runner sets it per step) */
  setStage(stage: Stage, stages: readonly Stage[]): void;
  /** true once the administrator asked to leave while the transaction was running */
  leaveRequested(): boolean;
}

/** The answer that closes a screen reporting the end of the transaction; none for the others. */
function closeAnswer(name: ScreenName): Answer<AskName> | undefined {
  if (name === 'finish') return { nav: 'next', value: undefined };
  if (name === 'error') return { nav: 'next', value: 'close' };
  return undefined;
}

/** Thrown out of `ask` when the administrator cancels; the runner turns it into "nothing changed". */
export class WizardCancelled extends Error {
  override name = 'WizardCancelled';
  constructor() {
    super('cancelled by the administrator');
  }
}

/**
 * The external store behind the ink app (read with useSyncExternalStore). Each answer is accepted
 * once, for the screen it belongs to: a key pressed twice before React redraws cannot answer the
 * next question too.
 */
export class UiController implements WizardUi {
  private snap: UiSnapshot = { stage: 'Welcome', stages: ['Welcome'], leaving: false, cancelled: false };
  private readonly listeners = new Set<() => void>();
  private pending: { id: number; reject: (e: unknown) => void } | undefined;
  private nextId = 1;

  readonly subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  readonly getSnapshot = (): UiSnapshot => this.snap;

  ask<K extends AskName>(name: K, view: ScreenMap[K]['view']): Promise<Answer<K>> {
    if (this.snap.cancelled) return Promise.reject(new WizardCancelled());
    // asked to close when done: the screen that says it is done is not waited on
    const closing = this.snap.leaving ? closeAnswer(name) : undefined;
    if (closing) return Promise.resolve(closing as Answer<K>);
    return new Promise<Answer<K>>((resolve, reject) => {
      const id = this.nextId++;
      this.pending = { id, reject };
      const answer = (a: Answer<K>) => {
        if (this.pending?.id !== id) return;
        this.pending = undefined;
        resolve(a);
      };
      this.show({ id, name, view, answer } as Shown);
    });
  }

  display<K extends DisplayName>(name: K, view: ScreenMap[K]['view']): void {
    this.show({ id: this.nextId++, name, view, answer: () => {} } as Shown);
  }

  setProduct(name: string): void {
    this.set({ ...this.snap, product: name });
  }

  setStage(stage: Stage, stages: readonly Stage[]): void {
    if (stage !== this.snap.stage || stages !== this.snap.stages) this.set({ ...this.snap, stage, stages });
  }

  leaveRequested(): boolean {
    return this.snap.leaving;
  }

  /** The question on screen `id` is still open (not yet answered). */
  waiting(id: number): boolean {
    return this.pending?.id === id;
  }

  /** Cancel before commit: the question on screen (or the next one asked) ends the wizard. */
  cancel(): void {
    if (this.snap.cancelled) return;
    this.set({ ...this.snap, cancelled: true });
    const p = this.pending;
    this.pending = undefined;
    p?.reject(new WizardCancelled());
  }

  /**
   * During the transaction nothing is interrupted: the wizard only leaves once it has ended. Asked
   * when it has just ended (the "y" crossed the last event), the screen that reports the end is
   * answered "close" at once instead of waiting for a key that was already given.
   */
  requestLeave(): void {
    const s = this.snap.screen;
    const closing = s ? closeAnswer(s.name) : undefined;
    if (s && closing) {
      (s.answer as (a: Answer<AskName>) => void)(closing);
      return;
    }
    this.set({ ...this.snap, leaving: true });
  }

  /** A signal (Ctrl-C outside raw mode, SIGTERM, a closed terminal): leave after the transaction, else cancel. */
  interrupt(): void {
    if (this.snap.screen?.name === 'progress' && !this.snap.screen.view.finished) this.requestLeave();
    else this.cancel();
  }

  private show(screen: Shown): void {
    this.set({ ...this.snap, screen });
  }

  private set(next: UiSnapshot): void {
    this.snap = next;
    for (const l of this.listeners) l();
  }
}
