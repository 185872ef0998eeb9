import { describe, expect, it } from "vitest";
import { platformForFile } from "../helpers/platform";

/** MLflow 3's scorer registry over HTTP, in the request shapes of the 3.x client's RestStore. */
const S = "/api/3.0/mlflow/scorers";

const p = platformForFile({ defaultPrincipal: "alice" }, "");
const { ok } = p;

describe("scorers", () => {
  it("versions registrations by name, lists latest, gets, deletes one or all versions", async () => {
    const exp = (await ok("POST", "/api/2.0/mlflow/experiments/create", { name: "scorers" })).experiment_id;
    const reg = (s: string) =>
      ok("POST", `${S}/register`, { experiment_id: exp, name: "judge", serialized_scorer: s });
    expect((await reg('{"v":1}')).version).toBe(1);
    expect((await reg('{"v":2}')).version).toBe(2);
    const list = await ok("GET", `${S}/list?experiment_id=${exp}`);
    expect(list.scorers).toEqual([
      expect.objectContaining({
        experiment_id: Number(exp),
        scorer_name: "judge",
        scorer_version: 2,
        serialized_scorer: '{"v":2}',
      }),
    ]);
    expect((await ok("GET", `${S}/versions?experiment_id=${exp}&name=judge`)).scorers).toHaveLength(2);
    expect(
      (await ok("GET", `${S}/get?experiment_id=${exp}&name=judge&version=1`)).scorer.serialized_scorer,
    ).toBe('{"v":1}');
    await ok("DELETE", `${S}/delete`, { experiment_id: exp, name: "judge", version: 1 });
    expect((await p.call("GET", `${S}/get?experiment_id=${exp}&name=judge&version=1`)).status).toBe(404);
    await ok("DELETE", `${S}/delete`, { experiment_id: exp, name: "judge" });
    expect((await ok("GET", `${S}/list?experiment_id=${exp}`)).scorers ?? []).toEqual([]);
    expect((await p.call("POST", `${S}/register`, { experiment_id: exp, name: "x" })).status).toBe(400);
  });
});
