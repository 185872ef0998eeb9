/**
 * Content types for artifact downloads, as MLflow's `mlflow/utils/mime_type_utils.py`
 * `_guess_mime_type` derives them: MLflow's text extensions (and its extension-less MLmodel and
 * MLproject files) are text/plain so the UI can show them; otherwise the type Python's
 * `mimetypes` gives the extension; otherwise application/octet-stream.
 */
const TEXT = new Set([
  "txt",
  "log",
  "err",
  "cfg",
  "conf",
  "cnf",
  "cf",
  "ini",
  "properties",
  "prop",
  "hocon",
  "toml",
  "yaml",
  "yml",
  "xml",
  "json",
  "js",
  "py",
  "py3",
  "csv",
  "tsv",
  "md",
  "rst",
  "MLmodel",
  "MLproject",
]);

/** The part of Python's `mimetypes` table that artifacts commonly hit. */
const BY_EXTENSION: Record<string, string> = {
  html: "text/html",
  htm: "text/html",
  css: "text/css",
  png: "image/png",
  jpg: "image/jpeg",
  jpeg: "image/jpeg",
  gif: "image/gif",
  svg: "image/svg+xml",
  webp: "image/webp",
  bmp: "image/bmp",
  tif: "image/tiff",
  tiff: "image/tiff",
  ico: "image/vnd.microsoft.icon",
  pdf: "application/pdf",
  zip: "application/zip",
  tar: "application/x-tar",
  pkl: "application/octet-stream",
  wav: "audio/x-wav",
  mp3: "audio/mpeg",
  mp4: "video/mp4",
  webm: "video/webm",
};

/** The content type MLflow's server sends for a file name. */
export function mimeTypeOf(path: string): string {
  const name = path.slice(path.lastIndexOf("/") + 1);
  const dot = name.lastIndexOf(".");
  // Like os.path.splitext: a leading dot does not start an extension.
  const ext = dot > 0 ? name.slice(dot + 1) : "";
  if (TEXT.has(ext || name)) return "text/plain";
  return BY_EXTENSION[ext.toLowerCase()] ?? "application/octet-stream";
}
