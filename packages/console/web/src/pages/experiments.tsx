import { keel, useApi } from "../api";
import { href } from "../router";
import { fmtTime, Load, Page, Table } from "../ui";

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
          <Table
            caption="Experiments"
            rows={d.experiments ?? []}
            rowKey={(e) => e.experiment_id}
            columns={[
              { label: "Name", cell: (e) => <a href={href("experiments", e.experiment_id)}>{e.name}</a> },
              { label: "ID", cell: (e) => e.experiment_id },
              { label: "Stage", cell: (e) => e.lifecycle_stage },
              { label: "Last update", cell: (e) => fmtTime(e.last_update_time) },
            ]}
          />
        )}
      </Load>
    </Page>
  );
}
