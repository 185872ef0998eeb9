import type { ComponentType } from "preact";
import { useEffect, useState } from "preact/hooks";

type PageComponent = ComponentType<{ params: Record<string, string> }>;
type Loader = () => Promise<PageComponent>;

/**
 * A page whose code loads when it is first shown (its own chunk: charts' uPlot, graphs' dagre and
 * every other page stay out of the first script the runs table waits for).
 */
export function lazyPage(load: Loader): PageComponent {
  let loaded: PageComponent | undefined;
  let pending: Promise<PageComponent> | undefined;
  return function LazyPage(props) {
    const [, setReady] = useState(0);
    useEffect(() => {
      if (loaded) return;
      pending ??= load().then((c) => (loaded = c));
      let live = true;
      pending.then(() => live && setReady((n) => n + 1));
      return () => {
        live = false;
      };
    }, []);
    const Page = loaded;
    return Page ? (
      <Page {...props} />
    ) : (
      <p class="muted" role="status">
        Loading…
      </p>
    );
  };
}
