import { keel, useApi } from "../api";
import { href } from "../router";
import { fmtTime, Load, Page } from "../ui";

export function ExperimentsPage() {
  const res = useApi(
    () =>
      keel.call("tracking.searchExperiments", {
        body: { max_results: 1000, order_by: ["last_update_time DESC"] },
      }),
    [],
  );
  return (
    <Page title="Experiments">
      <Load res={res}>
        {(d) => (
          <div class="table-wrap">
            <table class="grid">
              <caption class="sr-only">Experiments</caption>
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  <th scope="col">ID</th>
                  <th scope="col">Stage</th>
                  <th scope="col">Last update</th>
                </tr>
              </thead>
              <tbody>
                {(d.experiments ?? []).map((e) => (
                  <tr key={e.experiment_id}>
                    <td>
                      <a href={href("experiments", e.experiment_id)}>{e.name}</a>
                    </td>
                    <td>{e.experiment_id}</td>
                    <td>{e.lifecycle_stage}</td>
                    <td>{fmtTime(e.last_update_time)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </Load>
    </Page>
  );
}
