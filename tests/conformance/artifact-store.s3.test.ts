import { CreateBucketCommand } from "@aws-sdk/client-s3";
import { S3ArtifactStore } from "@keel/artifacts";
import { startFakeS3 } from "../helpers/s3-server";
import { artifactStoreSuite } from "./artifact-store.suite";

// The S3 adapter against a real S3-speaking HTTP server (tests/helpers/s3-server.ts). Listing
// pages are capped at 3 keys so every multi-entry listing and prefix delete follows
// continuation tokens.
artifactStoreSuite("S3 (S3-compatible test server)", async () => {
  const s3 = await startFakeS3({ maxKeys: 3 });
  const store = new S3ArtifactStore({
    root: "s3://keel-artifacts/stage/test",
    endpoint: s3.endpoint,
    region: "us-east-1",
    credentials: { accessKeyId: "test", secretAccessKey: "test" },
  });
  await store.client.send(new CreateBucketCommand({ Bucket: "keel-artifacts" }));
  return {
    store,
    close: async () => {
      store.client.destroy();
      await s3.close();
    },
  };
});
