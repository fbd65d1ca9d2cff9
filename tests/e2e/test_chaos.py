"""Chaos on a fleet of real processes (loopback only, bounded): workers killed with SIGKILL in the
middle of inference, the database restarted under load, the API killed during a burst of
submits. Every accepted request completes, exactly once visibly, and nothing is lost.

Requests are 1024x1024 edits of a tiny inline reference with the tiny model at two steps: the
cheapest real request here (measured against one-image sequential runs, which make 2560x1440).
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.fleet import EDIT, Fleet, edit_body, wait_until
from tests.e2e.fleet_fixtures import fleet_factory, pg_database, require_postgres  # noqa: F401
from tests.e2e.pg_cluster import PrivateCluster, cluster_problem

pytestmark = pytest.mark.postgres

# obstore's local store writes `<name>#<n>` and renames it into place; a writer killed in between
# leaves that staging file, which is no blob (the store never lists it)
_STAGING = re.compile(r"#\d+$")


def _submit_all(client: httpx.Client, n: int, start: int = 0) -> list[str]:
    ids = []
    for i in range(start, start + n):
        r = client.post(f"/v1/models/{EDIT}", json=edit_body(i))
        assert r.status_code == 200, r.text
        ids.append(r.json()["request_id"])
    return ids


def _assert_exactly_one_set_of_outputs(fleet: Fleet, client: httpx.Client, ids: list[str]) -> None:
    for request_id in ids:
        result = client.get(f"/v1/requests/{request_id}/result").json()
        assert result["status"] == "succeeded", result
        blobs = [name for name in fleet.output_blobs(request_id) if not _STAGING.search(name)]
        assert blobs == ["0.png"], (request_id, fleet.output_blobs(request_id))
        assert result["metadata"]["count"]["produced"] == 1
        image = httpx.get(result["output"]["image"], timeout=30, trust_env=False)
        assert image.status_code == 200 and image.content[:8] == b"\x89PNG\r\n\x1a\n"


# (a) ----------------------------------------------------------------------------------------
def test_workers_killed_mid_inference_lose_nothing(
    fleet_factory: Callable[..., Fleet],  # noqa: F811
) -> None:
    """Two workers, 30+ requests; one worker is SIGKILLed while it runs a request, three times,
    and restarted each time (alternately under its old id, which hands its rows back at start,
    and under a new one, which leaves them to the lease reaper)."""
    kills_wanted = 3
    fleet = fleet_factory(
        env={
            "OPENDREAM_LEASE_S": "2",
            "OPENDREAM_HEARTBEAT_S": "0.5",
            # a request the victim happens to hold at every kill must not run out of attempts
            "OPENDREAM_MAX_ATTEMPTS": str(kills_wanted + 2),
            # runs long enough (~1.5 s) that the last kill, 0.6 s after a run is seen, lands in it
            "OPENDREAM_STEPS": "6",
        }
    )
    fleet.start_api()
    since = time.time()
    fleet.start_worker("steady")
    fleet.start_worker("victim-0")
    with fleet.client() as client:
        ids = _submit_all(client, 30)
        fleet.wait_workers_alive(["steady", "victim-0"], since, timeout_s=90)

        victim = "victim-0"
        killed: list[str] = []  # request ids the victim was running when killed
        delays = [0.0, 0.3, 0.6]  # after seeing it run: kill at different points of the run

        def chaos() -> None:
            nonlocal victim
            fleet.workers["steady"].check_alive()
            if len(killed) >= kills_wanted or not fleet.workers[victim].alive:
                return
            # a row it held when killed may still name it (until handed back or reaped): only a
            # request this process claimed counts
            running = [rid for rid in fleet.running_on(victim) if rid not in killed]
            if not running:
                if len(killed) < kills_wanted and all_queued_soon_gone():
                    ids.extend(_submit_all(client, 5, start=len(ids)))  # keep it busy
                return
            time.sleep(delays[len(killed)])
            if running[0] not in fleet.running_on(victim):
                return  # it finished during the delay: wait for the next one
            fleet.workers[victim].kill()
            killed.append(running[0])
            if len(killed) % 2 == 1:
                victim = f"victim-{len(killed)}"  # a new host: the reaper requeues its row
            fleet.start_worker(victim, log_name=f"worker-{victim}-{len(killed)}")

        def all_queued_soon_gone() -> bool:
            queued = fleet.db("SELECT count(*) AS n FROM requests WHERE status = 'in_queue'")
            return queued[0]["n"] < 3 and len(ids) < 60

        statuses = fleet.wait_all_finished(client, ids, timeout_s=240, during=chaos)
        assert len(killed) == kills_wanted, f"only {len(killed)} kills happened"
        assert all(statuses[i] == "succeeded" for i in ids), statuses
        _assert_exactly_one_set_of_outputs(fleet, client, ids)

        rows = fleet.db("SELECT id, attempts FROM requests")
        attempts = {r["id"]: r["attempts"] for r in rows}
        assert set(attempts) == set(ids)  # nothing lost, nothing extra
        for request_id in killed:  # really killed mid-run: each ran again
            assert attempts[request_id] >= 2, (request_id, attempts[request_id])


# (b) ----------------------------------------------------------------------------------------
@pytest.fixture
def private_postgres() -> Iterator[PrivateCluster]:
    """This test's own PostgreSQL server, which it may stop and start freely."""
    require_postgres()
    problem = cluster_problem()
    if problem is not None:
        pytest.fail(f"cannot run a private PostgreSQL server here: {problem}")
    cluster = PrivateCluster().init()
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.remove()


def test_database_restart_answers_503_then_everything_completes(
    tmp_path: Path, tiny_klein_dir: Path, private_postgres: PrivateCluster
) -> None:
    url = private_postgres.create_database("opendream")
    fleet = Fleet(root=tmp_path, database_url=url, model_dir=tiny_klein_dir)
    try:
        fleet.start_api()
        since = time.time()
        fleet.start_worker("pg-a")
        fleet.start_worker("pg-b")
        with fleet.client(timeout_s=15) as client:
            ids = _submit_all(client, 10)
            fleet.wait_workers_alive(["pg-a", "pg-b"], since, timeout_s=90)
            wait_until(lambda: "succeeded" in fleet.statuses(client).values(), 60, "a first result")
            outage: list[httpx.Response] = []
            private_postgres.stop("fast")
            try:
                for i in range(4):
                    outage.append(client.get(f"/v1/requests/{ids[-1]}/status"))
                    outage.append(client.post(f"/v1/models/{EDIT}", json=edit_body(100 + i)))
                    outage.append(httpx.get(f"{fleet.base_url}/metrics", trust_env=False))
            finally:
                private_postgres.start()
            for r in outage:
                assert r.status_code == 503, (r.request.url, r.status_code, r.text)
                body = r.json()
                assert body["error_code"] == 503001, body
                assert "database" in body["error_message"] and r.headers["retry-after"]

            # after the outage: the same API and workers carry on, no restart of theirs
            ids += wait_until(lambda: _try_submit(client, 200), 30, "a submit to be accepted again")
            statuses = fleet.wait_all_finished(client, ids, timeout_s=120, during=lambda: None)
            assert all(statuses[i] == "succeeded" for i in ids), statuses
            _assert_exactly_one_set_of_outputs(fleet, client, ids)
            for service in [fleet.api, *fleet.workers.values()]:
                assert service is not None and service.alive, service
    finally:
        fleet.stop_all()


def _try_submit(client: httpx.Client, i: int) -> list[str] | None:
    r = client.post(f"/v1/models/{EDIT}", json=edit_body(i))
    return [r.json()["request_id"]] if r.status_code == 200 else None


# (c) ----------------------------------------------------------------------------------------
def test_api_killed_during_a_burst_every_accepted_submit_completes(
    fleet_factory: Callable[..., Fleet],  # noqa: F811
) -> None:
    fleet = fleet_factory()
    fleet.start_api()
    since = time.time()
    fleet.start_worker("burst-a")
    fleet.start_worker("burst-b")

    accepted: list[str] = []
    errors: list[str] = []
    lock = threading.Lock()
    stop = threading.Event()

    def submitter(n: int) -> None:
        with fleet.client(timeout_s=10) as client:
            for i in range(40):
                if stop.is_set():
                    return
                try:
                    r = client.post(f"/v1/models/{EDIT}", json=edit_body(n * 100 + i))
                except httpx.TransportError as exc:
                    with lock:
                        errors.append(type(exc).__name__)
                    return  # the API is gone
                if r.status_code == 200:
                    with lock:
                        accepted.append(r.json()["request_id"])

    threads = [threading.Thread(target=submitter, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    try:
        wait_until(lambda: len(accepted) >= 12, 60, "a dozen accepted submits", every_s=0.01)
        assert fleet.api is not None
        fleet.api.kill()
    finally:
        stop.set()
        for t in threads:
            t.join(30)
    assert errors, "the kill should have cut some submits off"
    assert len(accepted) < 4 * 40

    fleet.start_api()  # same port, same database: clients come back to the same address
    fleet.wait_workers_alive(["burst-a", "burst-b"], since, timeout_s=90)
    with fleet.client() as client:
        statuses = fleet.wait_all_finished(client, accepted, timeout_s=180, during=lambda: None)
        assert all(statuses[i] == "succeeded" for i in accepted), statuses
        _assert_exactly_one_set_of_outputs(fleet, client, accepted)
        # a submit cut off after its row was written runs too: no request is left behind
        everything = fleet.statuses(client)
        assert set(accepted) <= set(everything)
        leftovers = wait_until(
            lambda: all(s == "succeeded" for s in fleet.statuses(client).values()),
            120,
            "requests whose answer was lost to finish too",
        )
        assert leftovers
