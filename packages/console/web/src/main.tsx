import { prefetchRuns } from "./runs-query";
import "./styles.css";

// The page's first request leaves before the app's code is parsed; the app loads as its own chunk.
prefetchRuns();
import("./boot");
