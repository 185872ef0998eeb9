import type { ComponentType } from "preact";
import { ExperimentsPage } from "./pages/experiments";
import { SignInPage } from "./pages/signin";

type PageComponent = ComponentType<{ params: Record<string, string> }>;

/** Every console page by URL pattern (first match wins). */
export const routes: Array<[string, PageComponent]> = [
  ["/signin", SignInPage],
  ["/experiments", ExperimentsPage],
];
