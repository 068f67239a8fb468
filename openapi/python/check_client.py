"""Lists decisions and reads one through the client generated from
openapi/openapi.json (the analyst's view), after recording a decision on a demo
experiment with a PM token."""

import json
import os
import urllib.request

from verdict_client import AuthenticatedClient
from verdict_client.api.decisions import get_decision, list_decisions

base = os.environ["BASE_URL"]


def post(path, token, body):
    req = urllib.request.Request(
        base + path,
        data=json.dumps(body).encode(),
        headers={"Authorization": "Bearer " + token, "Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(req) as res:
        assert res.status == 201, res.status
        return json.load(res)


recorded = post(
    "/api/v1/experiments/cta_copy/decisions",
    os.environ["PM_TOKEN"],
    {"outcome": "iterate", "rationale": "python client check", "links": ["https://example.org/readout"]},
)

client = AuthenticatedClient(base_url=base, token=os.environ["ANALYST_TOKEN"])
page = list_decisions.sync(client=client, experiment="cta_copy")
assert page is not None, "list_decisions returned nothing"
assert [d.id for d in page.decisions] == [recorded["id"]], page
one = get_decision.sync(client=client, id=recorded["id"])
assert one is not None and one.rationale == "python client check", one
assert one.outcome.value == "iterate" and one.experiment == "cta_copy", one
assert one.results_snapshot is not None, "the frozen results come with a single read"
print(f"python client: listed {len(page.decisions)} decision(s), read decision {one.id} ({one.outcome.value})")
