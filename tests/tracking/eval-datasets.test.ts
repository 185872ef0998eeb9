import { describe, expect, it } from "vitest";
import { platformForFile } from "../helpers/platform";

/** MLflow 3's evaluation datasets over HTTP, in the request shapes of the 3.x client's RestStore. */
const D = "/api/3.0/mlflow/datasets";

const p = platformForFile({ defaultPrincipal: "alice" }, "");
const { ok } = p;
const { experiment } = p;
const create = (name: string, experiment_ids: string[], tags: Record<string, string>) =>
  ok("POST", `${D}/create`, { name, experiment_ids, tags: JSON.stringify(tags) });

describe("evaluation datasets", () => {
  it("creates, gets, merges and deletes tags, deletes the dataset", async () => {
    const exp = await experiment("eval ds");
    const { dataset } = await create("qa", [exp], { env: "dev", initial: "value" });
    expect(dataset).toMatchObject({ name: "qa", experiment_ids: [exp] });
    expect(JSON.parse(dataset.tags)).toEqual({ env: "dev", initial: "value" });
    const got = await ok("GET", `${D}/${dataset.dataset_id}`);
    expect(got.dataset).toEqual(dataset);
    await ok("PATCH", `${D}/${dataset.dataset_id}/tags`, {
      tags: JSON.stringify({ env: "staging", extra: "x" }),
    });
    await ok("DELETE", `${D}/${dataset.dataset_id}/tags/extra`);
    const tags = JSON.parse((await ok("GET", `${D}/${dataset.dataset_id}`)).dataset.tags);
    expect(tags).toEqual({ env: "staging", initial: "value" });
    expect((await ok("GET", `${D}/${dataset.dataset_id}/experiment-ids`)).experiment_ids).toEqual([exp]);
    await ok("DELETE", `${D}/${dataset.dataset_id}`);
    const gone = await p.call("GET", `${D}/${dataset.dataset_id}`);
    expect(gone.status).toBe(404);
    expect(gone.json.message).toContain("not found");
  });

  it("searches by experiment, tag filter and name order", async () => {
    const e1 = await experiment("ds search 1");
    const e2 = await experiment("ds search 2");
    await create("s1", [e1], { team: "ml" });
    await create("s2", [e1, e2], { team: "data" });
    await create("s3", [e2], { team: "ml" });
    const names = (r: { datasets?: Array<{ name: string }> }) => (r.datasets ?? []).map((d) => d.name);
    expect(names(await ok("POST", `${D}/search`, { experiment_ids: [e1] })).sort()).toEqual(["s1", "s2"]);
    expect(
      names(
        await ok("POST", `${D}/search`, { experiment_ids: [e1, e2], filter_string: "tags.team = 'ml'" }),
      ).sort(),
    ).toEqual(["s1", "s3"]);
    expect(
      names(await ok("POST", `${D}/search`, { experiment_ids: [e1, e2], order_by: ["name ASC"] })),
    ).toEqual(["s1", "s2", "s3"]);
  });

  it("upserts records by inputs (insert, then update with merged expectations and tags)", async () => {
    const exp = await experiment("ds records");
    const { dataset } = await create("records", [exp], {});
    const q = (question: string, answer: string, tags: Record<string, string>) => ({
      inputs: { question },
      expectations: { answer },
      tags,
    });
    const first = await ok("POST", `${D}/${dataset.dataset_id}/records`, {
      records: JSON.stringify([
        q("What is MLflow?", "a platform", { d: "easy" }),
        q("What is Python?", "a language", {}),
      ]),
    });
    expect(first).toEqual({ inserted_count: 2, updated_count: 0 });
    const second = await ok("POST", `${D}/${dataset.dataset_id}/records`, {
      records: JSON.stringify([
        q("What is MLflow?", "an ML platform", { updated: "true" }),
        q("What is Docker?", "containers", {}),
      ]),
    });
    expect(second).toEqual({ inserted_count: 1, updated_count: 1 });
    const records = JSON.parse((await ok("GET", `${D}/${dataset.dataset_id}/records`)).records);
    expect(records).toHaveLength(3);
    const mlflow = records.find(
      (r: { inputs: { question: string } }) => r.inputs.question === "What is MLflow?",
    );
    expect(mlflow).toMatchObject({
      expectations: { answer: "an ML platform" },
      tags: { d: "easy", updated: "true" },
    });
    expect((await p.call("POST", `${D}/d-nope/records`, { records: "[]" })).status).toBe(404);
  });
});
