import type { ReactNode } from 'react';

/**
 * The console's list table (`table.list`) with its header row; `children` is the body (`<tbody>`),
 * written by the page. An empty column title is a column without a heading (actions).
 */
export function ListTable({ testId, columns, children }: { testId: string; columns: readonly string[]; children: ReactNode }) {
  return (
    <table className="list" data-testid={testId}>
      <thead>
        <tr>
          {columns.map((title, i) => (
            <th key={i}>{title || null}</th>
          ))}
        </tr>
      </thead>
      {children}
    </table>
  );
}

/** A row's action column: one small button, or an empty cell where the action does not apply to the row or the user. */
export function ActionCell({ when, danger, onClick, children }: { when: boolean; danger?: boolean; onClick: () => void; children: ReactNode }) {
  return (
    <td>
      {when ? (
        <button className={danger ? 'danger small' : 'small'} onClick={onClick}>
          {children}
        </button>
      ) : null}
    </td>
  );
}
