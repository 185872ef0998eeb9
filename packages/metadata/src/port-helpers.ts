import type { Item, Key, MetadataStore, QueryInput } from "./port";

/**
 * What every MetadataStore adapter answers the same way on top of its own `query` and
 * `update`: one implementation, so the adapters cannot drift apart.
 */

/** Every page of a query (up to `limit` items when given). */
export async function queryAllPages(
  store: Pick<MetadataStore, "query">,
  q: Omit<QueryInput, "cursor">,
): Promise<Item[]> {
  const out: Item[] = [];
  let cursor: string | undefined;
  do {
    const page = await store.query({ ...q, cursor });
    out.push(...page.items);
    cursor = page.cursor;
    if (q.limit && out.length >= q.limit) break;
  } while (cursor);
  return out;
}

/** Atomically adds `by` to a numeric attribute and answers the new value. */
export async function incrementAttribute(
  store: Pick<MetadataStore, "update">,
  key: Key,
  attr: string,
  by: number,
): Promise<number> {
  const item = await store.update(key, { add: [[attr, by]] });
  return Number(item[attr]);
}
