import { freshMetadataStore } from "../helpers/metadata";
import { metadataStoreSuite } from "./metadata-store.suite";

metadataStoreSuite("DynamoDB on dynalite", () => freshMetadataStore());
