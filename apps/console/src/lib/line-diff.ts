import { diffLines } from 'diff';

export interface DiffRow {
  kind: 'same' | 'added' | 'removed';
  /** Line numbers in the old and the new text (absent on the side the line is not in). */
  oldLine?: number;
  newLine?: number;
  text: string;
}

/** A line diff of two policy texts, as rows with line numbers on both sides. */
export function lineDiff(oldText: string, newText: string): DiffRow[] {
  const rows: DiffRow[] = [];
  let oldLine = 1;
  let newLine = 1;
  for (const part of diffLines(oldText, newText)) {
    const lines = part.value.replace(/\n$/, '').split('\n');
    for (const text of lines) {
      if (part.added) rows.push({ kind: 'added', newLine: newLine++, text });
      else if (part.removed) rows.push({ kind: 'removed', oldLine: oldLine++, text });
      else rows.push({ kind: 'same', oldLine: oldLine++, newLine: newLine++, text });
    }
  }
  return rows;
}

export function diffStats(rows: readonly DiffRow[]): { added: number; removed: number } {
  return { added: rows.filter((r) => r.kind === 'added').length, removed: rows.filter((r) => r.kind === 'removed').length };
}
