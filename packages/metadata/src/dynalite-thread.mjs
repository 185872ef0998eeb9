// Runs dynalite on its own thread (see startDynalite's `thread` option): the platform's HTTP
// server and the database then use separate event loops, and so both cores.
import { parentPort, workerData } from "node:worker_threads";
import dynalite from "dynalite";
import { fixLevelIterators, levelIteratorStats } from "./level-iterators.mjs";

fixLevelIterators();
const server = dynalite({ path: workerData.path, createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
server.once("error", (e) => parentPort.postMessage({ type: "error", message: String(e?.message ?? e) }));
server.listen(workerData.port ?? 0, "127.0.0.1", () => {
  parentPort.postMessage({ type: "ready", port: server.address().port });
});
parentPort.on("message", (m) => {
  if (m?.type === "stats") parentPort.postMessage({ type: "stats", iterators: levelIteratorStats() });
  if (m?.type !== "close") return;
  server.close(() => {
    const db = server.db;
    if (db?.close) db.close(() => parentPort.postMessage({ type: "closed" }));
    else parentPort.postMessage({ type: "closed" });
  });
});
