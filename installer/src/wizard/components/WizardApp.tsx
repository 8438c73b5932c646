/** @jsxRuntime automatic @jsxImportSource react */
import { Box, useInput, useStdin } from 'ink';
import { useCallback, useEffect, useRef, useSyncExternalStore } from 'react';
import { completePath } from '../complete-path.js';
import type { ScreenName, Shown, UiController } from '../ui.js';
import { Dialog } from './Dialog.js';
import { splitKeys } from './line-edit.js';
import { ErrorScreen } from './ErrorScreen.js';
import { FinishScreen } from './FinishScreen.js';
import { Frame, frameRows, type KeyHint } from './Frame.js';
import { InstallationScreen } from './InstallationScreen.js';
import { LicenseScreen } from './LicenseScreen.js';
import { OptionsScreen } from './OptionsScreen.js';
import { ProgressScreen } from './ProgressScreen.js';
import { RemoveScreen } from './RemoveScreen.js';
import { RootScreen } from './RootScreen.js';
import { Scroll } from './Scroll.js';
import { Text } from './Shown.js';
import { UpdateScreen } from './UpdateScreen.js';
import { useLatestState } from './use-latest-state.js';
import { type TerminalSize, useTerminalSize } from './use-terminal-size.js';
import { WelcomeScreen } from './WelcomeScreen.js';
import { WorkingScreen } from './WorkingScreen.js';

const KEYS: Record<ScreenName, readonly KeyHint[]> = {
  welcome: [
    ['Enter', 'Next'],
    ['q', 'Cancel'],
  ],
  root: [
    ['Enter', 'OK'],
    ['Esc', 'Back'],
    ['Ctrl-C', 'Cancel'],
  ],
  installation: [
    ['Enter', 'Next'],
    ['R', 'Other folder'],
    ['Esc', 'Back'],
    ['q', 'Cancel'],
  ],
  update: [
    ['↑↓', 'Choose'],
    ['Enter', 'Next'],
    ['Esc', 'Back'],
    ['q', 'Cancel'],
  ],
  remove: [
    ['↑↓', 'Choose'],
    ['Enter', 'Next'],
    ['Esc', 'Back'],
    ['q', 'Cancel'],
  ],
  license: [
    ['↑↓ PgUp PgDn', 'Scroll'],
    ['Space', 'Accept'],
    ['Enter', 'Next'],
    ['Esc', 'Back'],
    ['q', 'Cancel'],
  ],
  options: [
    ['↑↓ Tab', 'Option'],
    ['Space ←→', 'Change'],
    ['Enter', 'Install'],
    ['Esc', 'Back'],
    ['q', 'Cancel'],
  ],
  working: [['q', 'Cancel']],
  progress: [['Esc', 'Close when done']],
  finish: [['Enter', 'Close']],
  error: [['Enter', 'Close']],
};

function keysFor(s: Shown): readonly KeyHint[] {
  if (s.name === 'options')
    return KEYS.options.map(([k, label]) => (k === 'Enter' ? ([k, s.view.go] as const) : ([k, label] as const)));
  if (s.name !== 'error') return KEYS[s.name];
  return [
    ...(s.view.action ? [['R', s.view.action] as const] : []),
    ...(s.view.canGoBack ? [['Esc', 'Back'] as const] : []),
    ['Enter', 'Close'],
  ];
}

const DIALOGS = {
  cancel: { title: 'Cancel Setup?', message: 'Nothing has been changed. Quit Setup now?' },
  leave: {
    title: 'Close Setup when done?',
    message:
      'The update cannot be stopped halfway: it ends whole, installed or rolled back. Close Setup when it has ended?',
  },
} as const;
type DialogKind = keyof typeof DIALOGS;

/** The rows a dialog takes at this width: two borders, the title, its message wrapped (by words, so one spare). */
function dialogRows(kind: DialogKind, width: number): number {
  const inner = Math.max(1, width - 4);
  return 3 + Math.ceil([...`${DIALOGS[kind].message} (y/N)`].length / inner) + 1;
}

/**
 * The smallest terminal the wizard draws in. Below it nothing is squeezed or cut: the screen says
 * how large the terminal must be, and redraws when it is resized.
 */
export const MIN_COLUMNS = 50;
export const MIN_ROWS = 16;

export interface WizardAppProps {
  controller: UiController;
  /** fixed size for tests; the terminal's otherwise */
  size?: TerminalSize;
}

/**
 * The one ink component tree: the frame, the screen the controller holds, and the keys every
 * screen shares — Esc back, q / Ctrl-C cancel (asked first), and during the transaction "close
 * when done" instead, because nothing may stop it halfway.
 */
export function WizardApp({ controller, size }: WizardAppProps) {
  const snap = useSyncExternalStore(controller.subscribe, controller.getSnapshot);
  const measured = useTerminalSize();
  const { columns, rows } = size ?? measured;
  const { isRawModeSupported, internal_eventEmitter: events } = useStdin();
  const [asked, getDialog, setDialog] = useLatestState<DialogKind | undefined>(undefined);
  const screen = snap.screen;
  const running = screen?.name === 'progress' && !screen.view.finished;
  // "Close Setup when done?" is a question about a running transaction: once it has ended the
  // question is gone (the finish screen says what happened), never left over the next screen
  const dialog = asked === 'leave' && !running ? undefined : asked;
  useEffect(() => {
    if (!running && getDialog() === 'leave') setDialog(undefined);
  }, [running, getDialog, setDialog]);
  const interactive = isRawModeSupported === true;
  const tooSmall = columns < MIN_COLUMNS || rows < MIN_ROWS;

  useInput(
    (input, key) => {
      if (!screen) return;
      const ctrlC = key.ctrl && input === 'c';
      const open = getDialog();
      if (open) {
        if (input === 'y' || input === 'Y' || ctrlC) {
          if (open === 'cancel') controller.cancel();
          else controller.requestLeave();
          setDialog(undefined);
        } else if (input === 'n' || input === 'N' || key.escape || key.return) {
          setDialog(undefined);
        }
        return;
      }
      const quit = input === 'q' || input === 'Q' || ctrlC;
      // nothing is answered on a screen the administrator cannot see
      if (tooSmall) {
        if (ctrlC && screen.name !== 'progress') setDialog('cancel');
        else if (ctrlC && screen.name === 'progress' && !screen.view.finished && !snap.leaving) setDialog('leave');
        return;
      }
      switch (screen.name) {
        case 'finish':
        case 'error':
          if (screen.name === 'error') {
            if (key.escape && screen.view.canGoBack) screen.answer({ nav: 'back' });
            else if ((input === 'r' || input === 'R') && screen.view.action)
              screen.answer({ nav: 'next', value: 'action' });
            else if (key.return || key.escape || quit) screen.answer({ nav: 'next', value: 'close' });
          } else if (key.return || key.escape || quit) screen.answer({ nav: 'next', value: undefined });
          return;
        case 'progress':
          if ((key.escape || quit) && !screen.view.finished && !snap.leaving) setDialog('leave');
          return;
        case 'root':
          if (key.escape) screen.answer({ nav: 'back' });
          else if (ctrlC) setDialog('cancel');
          return;
        case 'welcome':
        case 'working':
          if (key.escape || quit) setDialog('cancel');
          return;
        default:
          if (key.escape) screen.answer({ nav: 'back' });
          else if (quit) setDialog('cancel');
      }
    },
    { isActive: interactive },
  );
  // (after useInput: the replay must reach this render's key handler, not the last one's)
  useTypeAhead(controller, events, getDialog);

  if (tooSmall) {
    // (one column and one row spare, as below: a terminal wraps or scrolls at its last cell)
    return (
      <Box flexDirection="column" width={Math.max(1, columns - 1)} height={Math.max(1, rows - 1)} overflow="hidden">
        <Text wrap="wrap">
          Enlarge the terminal to at least {MIN_COLUMNS}×{MIN_ROWS} (it is {columns}×{rows}); Setup continues then.
        </Text>
        <Text wrap="wrap">{dialog ? `${DIALOGS[dialog].title} y Yes · n No` : 'Ctrl-C Cancel'}</Text>
      </Box>
    );
  }
  const width = columns - 1;
  const height = rows - 1;
  const keys: readonly KeyHint[] =
    screen && !dialog
      ? keysFor(screen)
      : [
          ['y', 'Yes'],
          ['n', 'No'],
        ];
  const title = snap.product ? `${snap.product} — Service Pack Setup` : 'Service Pack Setup';
  const status = snap.cancelled ? 'Cancelling…' : snap.leaving ? 'Closing when the installation has ended…' : undefined;
  const body = height - frameRows(keys, width, status);
  const screenHeight = Math.max(1, dialog ? body - dialogRows(dialog, width - 2) : body);
  const active = interactive && !dialog && !snap.cancelled;
  return (
    <Frame
      title={title}
      stage={snap.stage}
      stages={snap.stages}
      width={width}
      height={height}
      keys={keys}
      {...(status ? { status } : {})}
    >
      {screen ? (
        <Scroll key={screenKey(screen)} height={screenHeight} active={active && screen.name !== 'license'}>
          {renderScreen(screen, { width: width - 2, height: screenHeight, active })}
        </Scroll>
      ) : null}
      {dialog ? (
        <Box flexShrink={0}>
          <Dialog {...DIALOGS[dialog]} />
        </Box>
      ) : null}
    </Frame>
  );
}

/** Keys that act while a screen loads (they ask to cancel), so they are not kept for the next one. */
const CANCEL_KEYS = new Set(['q', 'Q', '\x1b', '\x03']);

/**
 * Keys typed ahead are not lost. Typed while no question is open — a screen loading, or one
 * already answered while the next is prepared — they are kept and given, in order, to the next
 * question, as a shell does. Several keys in one chunk (typed while the app was busy, or over ssh)
 * are given one by one: ink hands a chunk to the screens whole, where "\r\r" is no Enter at all. A
 * key that answers a question leaves the rest for the one after it. The folder field reads its
 * chunks itself; nothing is kept during the install (an Enter typed there must not close the
 * finish screen unseen) or while a dialog is open.
 */
function useTypeAhead(
  controller: UiController,
  events: NodeJS.EventEmitter,
  getDialog: () => DialogKind | undefined,
): void {
  const kept = useRef<string[]>([]);
  const replaying = useRef(false);
  const snap = useSyncExternalStore(controller.subscribe, controller.getSnapshot);
  const drain = useCallback(() => {
    const s = controller.getSnapshot().screen;
    if (!s || replaying.current) return;
    replaying.current = true;
    try {
      while (kept.current.length > 0 && controller.waiting(s.id) && !getDialog())
        events.emit('input', kept.current.shift());
    } finally {
      replaying.current = false;
    }
  }, [controller, events, getDialog]);
  useEffect(() => {
    const keep = (raw: string) => {
      if (replaying.current || getDialog()) return;
      const s = controller.getSnapshot().screen;
      if (s?.name === 'progress' || (s?.name === 'root' && controller.waiting(s.id))) return;
      const keys = splitKeys(raw);
      if (s && s.name !== 'working' && controller.waiting(s.id)) {
        if (keys.length < 2) return;
        kept.current.push(...keys);
        drain();
        return;
      }
      for (const k of keys) if (!CANCEL_KEYS.has(k)) kept.current.push(k);
    };
    events.on('input', keep);
    return () => {
      events.off('input', keep);
    };
  }, [controller, events, getDialog, drain]);
  // after the new screen's own key handlers are subscribed (a child's effects run before this one)
  useEffect(() => {
    if (snap.screen) drain();
  }, [snap.screen, drain]);
}

interface Layout {
  width: number;
  height: number;
  active: boolean;
}

// A fresh component per question (its cursor and toggles start from the view); the progress
// screen keeps its identity across events so its bars are not measured again on every file.
const screenKey = (s: Shown) => (s.name === 'progress' || s.name === 'working' ? s.name : s.id);

const completeHere = (value: string) => completePath(value, process.cwd());

function renderScreen(s: Shown, l: Layout) {
  const key = screenKey(s);
  switch (s.name) {
    case 'welcome':
      return (
        <WelcomeScreen
          key={key}
          view={s.view}
          active={l.active}
          onNext={() => s.answer({ nav: 'next', value: undefined })}
        />
      );
    case 'root':
      return (
        <RootScreen
          key={key}
          view={s.view}
          active={l.active}
          onSubmit={(root) => s.answer({ nav: 'next', value: root })}
          complete={completeHere}
        />
      );
    case 'installation':
      return (
        <InstallationScreen
          key={key}
          view={s.view}
          active={l.active}
          onNext={() => s.answer({ nav: 'next', value: 'next' })}
          onChangeRoot={() => s.answer({ nav: 'next', value: 'change-root' })}
        />
      );
    case 'update':
      return (
        <UpdateScreen
          key={key}
          view={s.view}
          active={l.active}
          onChoose={(path) => s.answer({ nav: 'next', value: path })}
        />
      );
    case 'remove':
      return (
        <RemoveScreen
          key={key}
          view={s.view}
          active={l.active}
          onChoose={(id) => s.answer({ nav: 'next', value: id })}
        />
      );
    case 'license':
      return (
        <LicenseScreen
          key={key}
          view={s.view}
          width={l.width}
          height={l.height}
          active={l.active}
          onAccept={() => s.answer({ nav: 'next', value: undefined })}
        />
      );
    case 'options':
      return (
        <OptionsScreen
          key={key}
          view={s.view}
          active={l.active}
          onConfirm={(choices) => s.answer({ nav: 'next', value: choices })}
        />
      );
    case 'progress':
      return <ProgressScreen key={key} view={s.view} width={l.width} />;
    case 'finish':
      return <FinishScreen key={key} view={s.view} />;
    case 'error':
      return <ErrorScreen key={key} view={s.view} />;
    case 'working':
      return <WorkingScreen key={key} view={s.view} />;
  }
}
