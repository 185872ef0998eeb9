import { invalidParam } from "./errors";

/** Percent-decodes until the text stops changing (MLflow's `_decode`), so `%252E%252E` is `..`. */
function decodeFully(s: string): string {
  for (let i = 0; i < 10; i++) {
    let next: string;
    try {
      next = decodeURIComponent(s);
    } catch {
      return s;
    }
    if (next === s) return s;
    s = next;
  }
  return s;
}

/**
 * MLflow's `validate_path_is_safe`: a path a client names under a run's or a model version's
 * artifacts may not hold `#`, a backslash or a `..` segment, nor be absolute (POSIX, Windows
 * drive or UNC, also inside a `file:` URI). The refusal is MLflow's: INVALID_PARAMETER_VALUE
 * "Invalid path". Returns the decoded path.
 */
export function validatePathIsSafe(path: string): string {
  let p = decodeFully(path);
  const bad = () => invalidParam("Invalid path");
  if (p.includes("#")) throw bad();
  if (/^file:/i.test(p)) p = p.replace(/^file:(\/\/[^/]*)?/i, "");
  if (p.includes("\\") || p.split("/").includes("..") || p.startsWith("/") || /^[A-Za-z]:/.test(p)) {
    throw bad();
  }
  return p;
}
