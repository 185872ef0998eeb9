import type { ComponentType } from "preact";
import { lazyPage } from "./lazy-page";
import { ExperimentsPage } from "./pages/experiments";
import { RunsPage } from "./pages/runs";
import { SignInCallbackPage, SignInPage } from "./pages/signin";

type PageComponent = ComponentType<{ params: Record<string, string> }>;

// The landing pages (experiments, the runs table, sign-in) are in the first script; the others
// load on first visit.
const audit = () => import("./pages/audit");
const deployments = () => import("./pages/deployments");
const models = () => import("./pages/models");
const monitoring = () => import("./pages/monitoring");
const pipelines = () => import("./pages/pipelines");

/** Every console page by URL pattern (first match wins). */
export const routes: Array<[string, PageComponent]> = [
  ["/signin", SignInPage],
  ["/signin/callback", SignInCallbackPage],
  ["/experiments", ExperimentsPage],
  ["/experiments/:id", RunsPage],
  ["/runs/:id", lazyPage(() => import("./pages/run").then((m) => m.RunPage))],
  ["/charts", lazyPage(() => import("./pages/charts").then((m) => m.ChartsPage))],
  ["/compare", lazyPage(() => import("./pages/compare").then((m) => m.ComparePage))],
  ["/models", lazyPage(() => models().then((m) => m.ModelsPage))],
  ["/models/:name", lazyPage(() => models().then((m) => m.ModelPage))],
  ["/models/:name/versions/:version", lazyPage(() => models().then((m) => m.VersionPage))],
  ["/reviews", lazyPage(() => import("./pages/reviews").then((m) => m.ReviewsPage))],
  ["/pipelines", lazyPage(() => pipelines().then((m) => m.PipelinesPage))],
  ["/pipelines/runs/:id", lazyPage(() => pipelines().then((m) => m.PipelineRunPage))],
  ["/pipelines/:name", lazyPage(() => pipelines().then((m) => m.PipelinePage))],
  ["/pipelines/:name/runs/:id", lazyPage(() => pipelines().then((m) => m.PipelineRunPage))],
  ["/features", lazyPage(() => import("./pages/features").then((m) => m.FeaturesPage))],
  ["/deployments", lazyPage(() => deployments().then((m) => m.DeploymentsPage))],
  ["/deployments/:name", lazyPage(() => deployments().then((m) => m.DeploymentPage))],
  ["/monitoring", lazyPage(() => monitoring().then((m) => m.MonitoringPage))],
  ["/monitoring/:deployment", lazyPage(() => monitoring().then((m) => m.DriftPage))],
  ["/audit", lazyPage(() => audit().then((m) => m.AuditPage))],
  ["/gateway", lazyPage(() => import("./pages/llm").then((m) => m.LlmPage))],
];
