import type { ComponentChildren } from "preact";
import { errorText, type Loaded } from "./api";
import { setQuery } from "./router";

export const fmtTime = (ms?: number | string | null) =>
  ms === undefined || ms === null || ms === "" ? "—" : new Date(Number(ms)).toLocaleString();

export const fmtNum = (v: unknown) =>
  typeof v === "number"
    ? Number.isInteger(v)
      ? String(v)
      : v.toPrecision(4)
    : v === undefined
      ? "—"
      : String(v);

export const fmtDuration = (from?: number, to?: number) => {
  if (!from) return "—";
  const s = ((to ?? Date.now()) - from) / 1000;
  return s < 60 ? `${s.toFixed(1)}s` : `${Math.floor(s / 60)}m ${Math.round(s % 60)}s`;
};

export function Page(props: {
  title: ComponentChildren;
  actions?: ComponentChildren;
  children: ComponentChildren;
}) {
  return (
    <section class="page">
      <header class="page-head">
        <h1>{props.title}</h1>
        {props.actions && <div class="actions">{props.actions}</div>}
      </header>
      {props.children}
    </section>
  );
}

/** Loading, error or the content of an API answer. */
export function Load<T>(props: { res: Loaded<T>; children: (data: T) => ComponentChildren }) {
  const { res } = props;
  return (
    <>
      {res.error && <ErrorBox error={res.error} />}
      {res.data === undefined
        ? !res.error && (
            <p class="muted" role="status">
              Loading…
            </p>
          )
        : props.children(res.data)}
    </>
  );
}

export function ErrorBox(props: { error: unknown }) {
  return (
    <p class="error" role="alert">
      {errorText(props.error)}
    </p>
  );
}

export function Status(props: { value?: string; testid?: string }) {
  const v = props.value ?? "—";
  return (
    <span class={`status status-${v.toLowerCase()}`} data-testid={props.testid}>
      {v}
    </span>
  );
}

export function KeyValues(props: { data: Record<string, unknown>; label?: string }) {
  const entries = Object.entries(props.data);
  if (entries.length === 0) return <p class="muted">None.</p>;
  return (
    <table class="kv" aria-label={props.label}>
      <tbody>
        {entries.map(([k, v]) => (
          <tr key={k}>
            <th scope="row">{k}</th>
            <td>{typeof v === "object" && v !== null ? <code>{JSON.stringify(v)}</code> : fmtNum(v)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

export function Json(props: { value: unknown }) {
  return <pre class="json">{JSON.stringify(props.value, null, 2)}</pre>;
}

export function Section(props: { title: string; children: ComponentChildren; actions?: ComponentChildren }) {
  return (
    <section class="card" aria-label={props.title}>
      <header class="card-head">
        <h2>{props.title}</h2>
        {props.actions}
      </header>
      {props.children}
    </section>
  );
}

/** Previous/Next over the `page` query parameter (0-based; pushed to history, so Back works). */
export function Pager(props: { page: number; hasNext: boolean }) {
  const { page, hasNext } = props;
  return (
    <nav class="pager" aria-label="Pages">
      <button
        type="button"
        class="secondary"
        disabled={page === 0}
        onClick={() => setQuery({ page: page - 1 || undefined }, { push: true })}
      >
        Previous
      </button>
      <span>Page {page + 1}</span>
      <button
        type="button"
        class="secondary"
        disabled={!hasNext}
        onClick={() => setQuery({ page: page + 1 }, { push: true })}
      >
        Next
      </button>
    </nav>
  );
}

/** One column of a Table: its header and how a row fills its cell. */
export interface Column<T> {
  label: string;
  cell: (row: T) => ComponentChildren;
  /** Right-aligned numbers. */
  num?: boolean;
}

/** The console's list table: scrolls sideways on a phone, a caption for screen readers, one header row. */
export function Table<T>(props: {
  caption: string;
  columns: Array<Column<T>>;
  rows: T[];
  rowKey: (row: T) => string;
}) {
  return (
    <div class="table-wrap">
      <table class="grid">
        <caption class="sr-only">{props.caption}</caption>
        <thead>
          <tr>
            {props.columns.map((c) => (
              <th scope="col" key={c.label} class={c.num ? "num" : undefined}>
                {c.label}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {props.rows.map((r) => (
            <tr key={props.rowKey(r)}>
              {props.columns.map((c) => (
                <td key={c.label} class={c.num ? "num" : undefined}>
                  {c.cell(r)}
                </td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** The answer to an action: a line of success, or the server's error. */
export function Outcome(props: { msg: { ok?: string; error?: string } }) {
  return (
    <>
      {props.msg.ok && (
        <p class="ok-box" role="status">
          {props.msg.ok}
        </p>
      )}
      {props.msg.error && <ErrorBox error={new Error(props.msg.error)} />}
    </>
  );
}
