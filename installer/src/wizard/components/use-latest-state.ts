import { useCallback, useRef, useState } from 'react';

/**
 * useState whose current value the key handler can read at once. Keys typed ahead arrive in one
 * chunk and are handled before React renders again, so a handler reading its render's state would
 * act on a stale value (Down, Down, Right would toggle the first option, not the third).
 */
/** (T must not itself be a function: a function argument is read as an updater, as with useState.) */
export function useLatestState<T>(initial: T | (() => T)): [T, () => T, (next: T | ((prev: T) => T)) => void] {
  const [state, setState] = useState(initial);
  const ref = useRef(state);
  const get = useCallback(() => ref.current, []);
  const set = useCallback((next: T | ((prev: T) => T)) => {
    ref.current = typeof next === 'function' ? (next as (prev: T) => T)(ref.current) : next;
    setState(ref.current);
  }, []);
  return [state, get, set];
}
