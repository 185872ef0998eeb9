// dynalite 4.0.0 closes the LevelDB iterator behind a Query or Scan only through
// `iterator.return()`, which abstract-level 3 iterators lack: each Query then leaves an
// iterator open that pins a LevelDB snapshot and the memtables and blocks compaction, so memory
// and the data dir grow with every Query. This gives the iterator classes a `return()` that
// closes them, and counts open iterators so tests can prove they stay bounded.
import { createRequire } from "node:module";

const stats = { created: 0, open: 0 };
let patched = false;

/** The abstract-level copies dynalite's LevelDB (classic-level) and in-memory (memory-level) stores use. */
function abstractLevelCopies() {
  const fromHere = createRequire(import.meta.url);
  const fromDynalite = createRequire(fromHere.resolve("dynalite"));
  const fromLevel = createRequire(fromDynalite.resolve("level"));
  const paths = new Set();
  for (const [req, backend] of [
    [fromLevel, "classic-level"],
    [fromDynalite, "memory-level"],
  ]) {
    const fromBackend = createRequire(req.resolve(backend));
    paths.add(fromBackend.resolve("abstract-level"));
  }
  return [...paths].map((p) => fromHere(p));
}

/** Idempotent: patches every abstract-level copy once per thread. */
export function fixLevelIterators() {
  if (patched) return;
  patched = true;
  for (const { AbstractIterator, AbstractLevel } of abstractLevelCopies()) {
    const common = Object.getPrototypeOf(AbstractIterator.prototype);
    const iteratorClass = common.constructor;
    if (typeof common.return !== "function") {
      Object.defineProperty(common, "return", {
        configurable: true,
        writable: true,
        async value() {
          await this.close();
          return { done: true, value: undefined };
        },
      });
    }
    const attach = AbstractLevel.prototype.attachResource;
    const detach = AbstractLevel.prototype.detachResource;
    const tracked = new WeakSet();
    AbstractLevel.prototype.attachResource = function (resource) {
      attach.call(this, resource);
      if (resource instanceof iteratorClass && !tracked.has(resource)) {
        tracked.add(resource);
        stats.created++;
        stats.open++;
      }
    };
    AbstractLevel.prototype.detachResource = function (resource) {
      detach.call(this, resource);
      if (tracked.has(resource)) {
        tracked.delete(resource);
        stats.open--;
      }
    };
  }
}

/** Iterators created and still open in this thread since the fix was applied. */
export function levelIteratorStats() {
  return { ...stats };
}
