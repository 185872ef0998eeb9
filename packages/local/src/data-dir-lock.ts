import { closeSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { KeelError } from "@keel/core";

/** The data dir is held by another running platform (`keel dev`, or a CLI command opening it). */
export class DataDirInUseError extends KeelError {
  constructor(
    readonly dataDir: string,
    readonly pid: number,
    readonly url?: string,
  ) {
    super(
      "INVALID_STATE",
      `the data dir ${dataDir} is in use by a running keel dev (pid ${pid}${url ? `, ${url}` : ""})`,
      { dataDir, pid, url },
    );
    this.name = "DataDirInUseError";
  }
}

export interface DataDirLock {
  /** Records where the holder serves, so a refused second opener can name the URL to use instead. */
  setUrl(url: string): void;
  release(): void;
}

interface Holder {
  pid: number;
  url?: string;
}

/** Whether a process with this pid exists (EPERM: it exists but belongs to someone else). */
export const processAlive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
};

/**
 * Takes `<dataDir>/keel.lock` (pid and URL of the holder) before dynalite opens LevelDB there:
 * LevelDB reports a held lock only later, as "Database is closed" from dynalite's thread. A lock
 * whose process is gone (killed, crashed) is taken over.
 */
export function lockDataDir(dataDir: string): DataDirLock {
  const file = join(dataDir, "keel.lock");
  const me: Holder = { pid: process.pid };
  for (let attempt = 0; ; attempt++) {
    try {
      const fd = openSync(file, "wx");
      writeFileSync(fd, JSON.stringify(me));
      closeSync(fd);
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST" || attempt > 2) throw e;
      let holder: Holder | undefined;
      try {
        holder = JSON.parse(readFileSync(file, "utf8")) as Holder;
      } catch {
        // Half-written or unreadable: treat as stale.
      }
      if (holder && Number.isInteger(holder.pid) && processAlive(holder.pid))
        throw new DataDirInUseError(dataDir, holder.pid, holder.url);
      rmSync(file, { force: true });
    }
  }
  const ours = () => {
    try {
      return (JSON.parse(readFileSync(file, "utf8")) as Holder).pid === me.pid;
    } catch {
      return false;
    }
  };
  return {
    setUrl(url) {
      me.url = url;
      if (ours()) writeFileSync(file, JSON.stringify(me));
    },
    release() {
      if (ours()) rmSync(file, { force: true });
    },
  };
}
