// Usage: node --import tsx packages/console/scripts/perf.mts <url> <experiment id> <run id of the long metric>
// (after perf-data.mts): times the runs table and the 100,000-point chart in Debian's chromium.
import { launchBrowser, openPage } from "../../../tests/console/browser";

const [base, exp, longRun] = process.argv.slice(2);
const b = await launchBrowser();
const { page } = await openPage(b, base);
await page.goto(base + "/experiments"); // warm the cache of the bundle
for (let i = 0; i < 3; i++) {
  const t = Date.now();
  await page.goto(
    `${base}/experiments/${exp}?size=50&order=metrics.auc%20DESC&cols=metrics.auc,metrics.loss,params.lr,params.depth`,
  );
  await page.locator("[data-testid=runs-table] tbody tr").nth(49).waitFor();
  console.log("runs table, 50 rows of 10,001, sorted by auc:", Date.now() - t, "ms");
  const t2 = Date.now();
  await page.getByRole("button", { name: "Next" }).click();
  await page.waitForURL(/page=1/);
  await page.waitForFunction(`document.querySelector("main [role=status]")?.textContent?.includes("page 2")`);
  console.log("  next page:", Date.now() - t2, "ms");
}
for (let i = 0; i < 3; i++) {
  const t = Date.now();
  await page.goto(`${base}/runs/${longRun}?tab=charts&metric=train_loss`);
  const chart = page.locator('.chart[data-points="100000"][data-render-ms]');
  await chart.waitFor({ timeout: 60000 });
  console.log(
    "chart of 100,000 points: page to drawn",
    Date.now() - t,
    "ms; draw",
    await chart.getAttribute("data-render-ms"),
    "ms",
  );
  await page.getByLabel("Log scale").check();
  await page.waitForTimeout(300);
  console.log("  log scale redraw", await page.locator(".chart").getAttribute("data-render-ms"), "ms");
}
await b.close();
