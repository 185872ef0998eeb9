import { describe, expect, it } from "vitest";
import { mimeTypeOf } from "./mime";

describe("mimeTypeOf (MLflow's _guess_mime_type)", () => {
  it("serves MLflow's text extensions and its extension-less files as text/plain", () => {
    for (const p of [
      "a/MLmodel",
      "MLproject",
      "x/conda.yaml",
      "metrics.json",
      "r.csv",
      "notes.md",
      "train.py",
    ]) {
      expect(mimeTypeOf(p), p).toBe("text/plain");
    }
  });

  it("uses the extension's registered type, else application/octet-stream", () => {
    expect(mimeTypeOf("plots/roc.png")).toBe("image/png");
    expect(mimeTypeOf("report.HTML")).toBe("text/html");
    expect(mimeTypeOf("model.onnx")).toBe("application/octet-stream");
    expect(mimeTypeOf("weights")).toBe("application/octet-stream");
    expect(mimeTypeOf(".hidden")).toBe("application/octet-stream");
  });
});
