import type { StackContext } from "sst/constructs";

/** A stack function as `app.stack` takes it. */
export type KeelStack = (ctx: StackContext) => unknown;

import { Api } from "./Api";
import { Features } from "./Features";
import { Llm } from "./Llm";
import { Monitoring } from "./Monitoring";
import { Network } from "./Network";
import { Pipelines } from "./Pipelines";
import { Serving } from "./Serving";
import { Storage } from "./Storage";
import { Tuning } from "./Tuning";

/** Every stack, in dependency order (a stack may only `use` those before it). */
export const keelStacks: KeelStack[] = [
  Network,
  Storage,
  Features,
  // Before Pipelines and Api: their RAG functions call the gateway's URL (KEEL_RAG_LLM_URL).
  Llm,
  Pipelines,
  Tuning,
  Serving,
  Api,
  Monitoring,
];
