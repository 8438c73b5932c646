/** @jsxRuntime automatic @jsxImportSource react */
import { Box, useInput, useStdin } from 'ink';
import { useSyncExternalStore } from 'react';
import type { ScreenName, Shown, UiController } from '../ui.js';
import { Dialog } from './Dialog.js';
import { ErrorScreen } from './ErrorScreen.js';
import { FinishScreen } from './FinishScreen.js';
import { FRAME_ROWS, Frame, type KeyHint } from './Frame.js';
import { InstallationScreen } from './InstallationScreen.js';
import { LicenseScreen } from './LicenseScreen.js';
import { OptionsScreen } from './OptionsScreen.js';
import { ProgressScreen } from './ProgressScreen.js';
import { RemoveScreen } from './RemoveScreen.js';
import { RootScreen } from './RootScreen.js';
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
/** the most a dialog takes: two borders, the title, two lines of message */
const DIALOG_ROWS = 5;

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
  const { isRawModeSupported } = useStdin();
  const [dialog, getDialog, setDialog] = useLatestState<DialogKind | undefined>(undefined);
  const screen = snap.screen;
  const interactive = isRawModeSupported === true;

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

  const width = Math.max(40, columns - 1);
  const height = Math.max(12, rows - 1);
  const body = height - FRAME_ROWS;
  const screenHeight = dialog ? body - DIALOG_ROWS : body;
  const title = snap.product ? `${snap.product} — Service Pack Setup` : 'Service Pack Setup';
  const status = snap.cancelled ? 'Cancelling…' : snap.leaving ? 'Closing when the installation has ended…' : undefined;
  return (
    <Frame
      title={title}
      stage={snap.stage}
      stages={snap.stages}
      width={width}
      height={height}
      keys={
        screen && !dialog
          ? keysFor(screen)
          : [
              ['y', 'Yes'],
              ['n', 'No'],
            ]
      }
      {...(status ? { status } : {})}
    >
      <Box flexDirection="column" flexGrow={1} flexShrink={1} overflow="hidden">
        {screen
          ? renderScreen(screen, {
              width: width - 2,
              height: screenHeight,
              active: interactive && !dialog && !snap.cancelled,
            })
          : null}
      </Box>
      {dialog ? (
        <Box flexShrink={0}>
          <Dialog {...DIALOGS[dialog]} />
        </Box>
      ) : null}
    </Frame>
  );
}

interface Layout {
  width: number;
  height: number;
  active: boolean;
}

function renderScreen(s: Shown, l: Layout) {
  // A fresh component per question (its cursor and toggles start from the view); the progress
  // screen keeps its identity across events so its bars are not measured again on every file.
  const key = s.name === 'progress' || s.name === 'working' ? s.name : s.id;
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
          height={l.height}
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
      return <ErrorScreen key={key} view={s.view} height={l.height} />;
    case 'working':
      return <WorkingScreen key={key} view={s.view} />;
  }
}
