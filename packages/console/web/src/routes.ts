import type { ComponentType } from "preact";
import { AuditPage } from "./pages/audit";
import { ChartsPage } from "./pages/charts";
import { ComparePage } from "./pages/compare";
import { DeploymentPage, DeploymentsPage } from "./pages/deployments";
import { ExperimentsPage } from "./pages/experiments";
import { FeaturesPage } from "./pages/features";
import { LlmPage } from "./pages/llm";
import { ModelPage, ModelsPage, VersionPage } from "./pages/models";
import { DriftPage, MonitoringPage } from "./pages/monitoring";
import { PipelinePage, PipelineRunPage, PipelinesPage } from "./pages/pipelines";
import { ReviewsPage } from "./pages/reviews";
import { RunPage } from "./pages/run";
import { RunsPage } from "./pages/runs";
import { SignInCallbackPage, SignInPage } from "./pages/signin";

type PageComponent = ComponentType<{ params: Record<string, string> }>;

/** Every console page by URL pattern (first match wins). */
export const routes: Array<[string, PageComponent]> = [
  ["/signin", SignInPage],
  ["/signin/callback", SignInCallbackPage],
  ["/experiments", ExperimentsPage],
  ["/experiments/:id", RunsPage],
  ["/runs/:id", RunPage],
  ["/charts", ChartsPage],
  ["/compare", ComparePage],
  ["/models", ModelsPage],
  ["/models/:name", ModelPage],
  ["/models/:name/versions/:version", VersionPage],
  ["/reviews", ReviewsPage],
  ["/pipelines", PipelinesPage],
  ["/pipelines/runs/:id", PipelineRunPage],
  ["/pipelines/:name", PipelinePage],
  ["/pipelines/:name/runs/:id", PipelineRunPage],
  ["/features", FeaturesPage],
  ["/deployments", DeploymentsPage],
  ["/deployments/:name", DeploymentPage],
  ["/monitoring", MonitoringPage],
  ["/monitoring/:deployment", DriftPage],
  ["/audit", AuditPage],
  ["/llm-usage", LlmPage],
];
