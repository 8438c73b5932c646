/** Hard-wraps text to `width` columns, by words where it can: the License screen scrolls by these lines. */
export function wrapText(text: string, width: number): string[] {
  const w = Math.max(10, width);
  const out: string[] = [];
  for (const raw of text.replace(/\r\n?/g, '\n').replace(/\t/g, '    ').split('\n')) {
    let line = raw.trimEnd();
    if (line === '') {
      out.push('');
      continue;
    }
    const indent = /^\s*/.exec(line)?.[0] ?? '';
    while ([...line].length > w) {
      const chars = [...line];
      const head = chars.slice(0, w + 1).join('');
      const cut = head.lastIndexOf(' ');
      const at = cut > indent.length ? cut : w;
      out.push(chars.slice(0, at).join('').trimEnd());
      line = indent + chars.slice(at).join('').trimStart();
    }
    out.push(line);
  }
  while (out.length > 0 && out[out.length - 1] === '') out.pop();
  return out;
}

const LIST_ITEM = /^(\s*(?:\d+[.)]|[-*•])\s+)/;

/**
 * Wraps a document written for some other width. Lines that were wrapped by their author (long
 * ones followed by more text) are joined back into paragraphs first, so the text does not break
 * twice; short lines (headings, addresses) and list items stay as they are. Text that already
 * fits is shown verbatim.
 */
export function reflowText(text: string, width: number): string[] {
  const lines = text.replace(/\r\n?/g, '\n').replace(/\t/g, '    ').split('\n');
  if (lines.every((l) => [...l.trimEnd()].length <= width)) return wrapText(text, width);
  const longest = Math.max(...lines.map((l) => [...l.trimEnd()].length));
  const soft = Math.floor(longest * 0.6);
  const paragraphs: { text: string; hang: string }[] = [];
  let current: { text: string; hang: string } | undefined;
  let previous = 0;
  for (const raw of lines) {
    const line = raw.trimEnd();
    if (line === '') {
      paragraphs.push({ text: '', hang: '' });
      current = undefined;
    } else if (current && previous >= soft && !LIST_ITEM.test(line)) {
      current.text += ` ${line.trim()}`;
    } else {
      const item = LIST_ITEM.exec(line)?.[1];
      current = { text: line, hang: ' '.repeat(item ? [...item].length : [...(/^\s*/.exec(line)?.[0] ?? '')].length) };
      paragraphs.push(current);
    }
    previous = [...line].length;
  }
  const out: string[] = [];
  for (const p of paragraphs) {
    if (p.text === '') {
      out.push('');
      continue;
    }
    const lead = /^\s*/.exec(p.text)?.[0] ?? '';
    let line = lead;
    for (const word of p.text.slice(lead.length).split(/ +/)) {
      const candidate = line.trim() === '' ? line + word : `${line} ${word}`;
      if ([...candidate].length > width && line.trim() !== '') {
        out.push(line);
        line = p.hang + word;
      } else line = candidate;
    }
    out.push(...wrapText(line, width));
  }
  while (out.length > 0 && out[out.length - 1] === '') out.pop();
  return out;
}
