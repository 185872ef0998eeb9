import { posix } from "node:path";
import { registryErrors } from "./errors";

/**
 * MLflow's checks on a model version's `source` (mlflow/server/handlers.py `_validate_source`):
 * a local path (no scheme, or `file:` on this host) is refused, since Keel's run artifacts are
 * never local and MLflow accepts a local source only inside the run's local artifact directory;
 * any other URI must hold an absolute path with no `..` or `.` segments once fully URL-decoded
 * (a security check: `mlflow-artifacts://host/models/../../../` would reach outside the store).
 */
export function validateVersionSource(source: string, runId: string): void {
  if (isLocalUri(source)) {
    const shown = runId ? posix.resolve(localPath(source)) : source;
    throw registryErrors.invalid(
      `Invalid model version source: '${shown}'. To use a local path as a model version source, ` +
        "the run_id request parameter has to be specified and the local path has to be contained " +
        "within the artifact directory of the run specified by the run_id.",
    );
  }
  const decoded = unquoteFully(source);
  const path = uriPath(decoded).replace(/\/+$/, "").replace(/\/+/g, "/");
  const traverses = path.includes("\0") || decoded.split("/").some((seg) => seg === "..");
  if (traverses || !path.startsWith("/") || posix.normalize(path) !== path) {
    throw registryErrors.invalid(
      `Invalid model version source: '${decoded}'. If supplying a source as an http, https, local ` +
        "file path, ftp, objectstore, or mlflow-artifacts uri, an absolute path must be provided " +
        "without relative path references present. Please provide an absolute path.",
    );
  }
}

const SCHEME = /^([a-zA-Z][a-zA-Z0-9+.-]*):/;

/** Python's urlparse netloc host of a URI with `//`, lower-cased, or undefined. */
function hostOf(uri: string): string | undefined {
  const m = /^[a-zA-Z][a-zA-Z0-9+.-]*:\/\/([^/?#]*)/.exec(uri);
  if (!m) return undefined;
  const host = m[1].replace(/^.*@/, "").replace(/:\d*$/, "").toLowerCase();
  return host || undefined;
}

/** MLflow's `is_local_uri`: no scheme, or a scheme on no remote host that is `file`. */
function isLocalUri(uri: string): boolean {
  const scheme = SCHEME.exec(uri)?.[1]?.toLowerCase();
  if (!scheme) return true;
  const host = hostOf(uri);
  const remote =
    host !== undefined && !(host === "." || host.startsWith("localhost") || host.startsWith("127.0.0.1"));
  return scheme === "file" && !remote;
}

function localPath(uri: string): string {
  return uri.replace(/^file:(\/\/[^/]*)?/i, "") || "/";
}

/** Python's `unquote_plus`, repeated until the text stops changing. */
function unquoteFully(s: string): string {
  let cur = s;
  for (;;) {
    let next: string;
    try {
      next = decodeURIComponent(cur.replace(/\+/g, " "));
    } catch {
      return cur;
    }
    if (next === cur) return cur;
    cur = next;
  }
}

/** The path part of a URI as Python's urlparse splits it (after scheme and `//netloc`). */
function uriPath(uri: string): string {
  let rest = uri.replace(SCHEME, "");
  if (rest.startsWith("//")) rest = rest.slice(2).replace(/^[^/?#]*/, "");
  return rest.replace(/[?#].*$/, "");
}
