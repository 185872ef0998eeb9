export { type FinetuneInput, finetuneInput, finetuneStepKind, hyperParameters } from "./finetune-step";
export {
  type AdapterRegistrar,
  type FinetuneTrackingApi,
  registerAdapterInput,
  registerAdapterStepKind,
} from "./register-adapter-step";
