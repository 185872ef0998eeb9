// Child process of the crash-safety test: writes in a loop, printing "ack <i>" after each write
// the store acknowledged, until it is killed with SIGKILL.
import { type DurableKind, openDurableStore, payloadFor } from "./metadata-store.durable";

const [kind, dir] = process.argv.slice(2) as [DurableKind, string];
const { store } = await openDurableStore(kind, dir);
await store.put({ pk: "crash", sk: "list", entries: [] });
for (let i = 0; ; i++) {
  const sk = String(i).padStart(8, "0");
  if (i % 3 === 0) await store.put({ pk: "crash", sk, i, payload: payloadFor(i) });
  else await store.batchPut([{ pk: "crash", sk, i, payload: payloadFor(i) }]);
  await store.update({ pk: "crash", sk: "list" }, { append: [["entries", [i]]], add: [["count", 1]] });
  process.stdout.write(`ack ${i}\n`);
}
