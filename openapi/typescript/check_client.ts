// Reads the decision log through TypeScript types generated from
// openapi/openapi.json: records a decision, lists it, reads it back with its
// frozen results, and checks that those are fully typed and equal to what
// `GET …/results` serves. Run by check_client.sh against a real service.
import assert from "node:assert/strict";
import createClient from "openapi-fetch";
import type { components, paths } from "./generated/schema.js";

type Results = components["schemas"]["ExperimentResults"];
type Decision = components["schemas"]["DecisionView"];

function env(name: string): string {
  const value = process.env[name];
  assert.ok(value, `${name} is required`);
  return value;
}

const baseUrl = env("BASE_URL");
const experiment = "vip_paywall_copy";
const as = (token: string) =>
  createClient<paths>({ baseUrl, headers: { Authorization: `Bearer ${token}` } });
const pm = as(env("PM_TOKEN"));
const analyst = as(env("ANALYST_TOKEN"));

const rfc3339Utc = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;

function checkResults(r: Results): void {
  assert.equal(r.schema_version, 2);
  assert.equal(r.experiment, experiment);
  for (const t of [r.as_of, r.computed_at]) {
    assert.match(t, rfc3339Utc);
    assert.ok(!Number.isNaN(Date.parse(t)));
  }
  assert.ok(r.arms.length >= 2);
  assert.ok(r.arms.every((a) => a.units >= 0 && a.weight > 0));
  const primary = r.metrics.find((m) => m.role === "primary");
  assert.ok(primary, "a primary metric");
  for (const c of primary.comparisons) {
    assert.equal(typeof c.arm, "string");
    assert.ok(c.p_value === null || (c.p_value >= 0 && c.p_value <= 1));
    assert.equal(typeof c.significant, "boolean");
  }
  const actions: components["schemas"]["Action"][] = ["ship", "roll_back", "keep_running", "inconclusive"];
  assert.ok(actions.includes(r.recommendation.action));
  assert.ok(r.recommendation.reasons.length > 0);
}

const recorded = await pm.POST("/api/v1/experiments/{key}/decisions", {
  params: { path: { key: experiment } },
  body: { outcome: "iterate", rationale: "read through the generated TypeScript client", links: [] },
});
assert.equal(recorded.response.status, 201, JSON.stringify(recorded.error));
const created: Decision | undefined = recorded.data;
assert.ok(created?.results_snapshot, "the decision froze its results");

const served = await analyst.GET("/api/v1/experiments/{key}/results", {
  params: { path: { key: experiment }, query: {} },
});
assert.equal(served.response.status, 200);
assert.ok(served.data);
checkResults(served.data);

const page = await analyst.GET("/api/v1/decisions", {
  params: { query: { experiment, limit: 10 } },
});
assert.equal(page.response.status, 200);
// The route also answers text/csv (with `Accept: text/csv`); JSON was asked for.
assert.ok(page.data && typeof page.data !== "string", "a JSON page");
const listed = page.data.decisions.find((d) => d.id === created.id);
assert.ok(listed, "the new decision is listed");
assert.equal(listed.results_snapshot, undefined, "lists leave the frozen results out");
assert.match(listed.created_at, rfc3339Utc);

const read = await analyst.GET("/api/v1/decisions/{id}", {
  params: { path: { id: created.id } },
});
assert.equal(read.response.status, 200);
const frozen = read.data?.results_snapshot;
assert.ok(frozen, "a single read carries the frozen results");
checkResults(frozen);
assert.deepEqual(frozen, served.data, "frozen results equal what the results route serves");

const csv = await fetch(`${baseUrl}/api/v1/decisions?experiment=${experiment}`, {
  headers: { Authorization: `Bearer ${env("ANALYST_TOKEN")}`, Accept: "text/csv" },
});
assert.equal(csv.status, 200);
assert.match(await csv.text(), /^id,experiment,outcome/);

console.log(
  `decision ${created.id} on ${experiment}: ${frozen.metrics.length} metrics frozen as of ${frozen.as_of}, ` +
    `recommendation ${frozen.recommendation.action}`,
);
