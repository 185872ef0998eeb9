import { ensureConsoleBuilt } from "./build";

// `npm run build:console` / prestart / pretest: build the console when it is missing or stale.
ensureConsoleBuilt();
