"""Reading the protocol's JSON into the typed results, including RunComfy's own quirks."""

from __future__ import annotations

from datetime import UTC, datetime

from opendream.client.types import CancelResponse, RequestResult, RequestStatus, output_urls


def test_every_output_url_is_collected_in_a_stable_order() -> None:
    output = {
        "videos": ["v1", "v2"],
        "image": "i0",
        "images": ["i1", "", 3],
        "video": "v0",
        "other": "x",
    }
    assert output_urls(output) == ["i0", "i1", "v0", "v1", "v2"]
    assert output_urls(None) == [] and output_urls({"images": None}) == []


def test_a_result_reads_times_errors_and_the_seed() -> None:
    result = RequestResult.from_json(
        {
            "request_id": "r",
            "status": "failed",
            "error": {"message": "worker lost 3 times"},
            "created_at": "2026-11-21T10:00:00Z",
            "finished_at": "not a time",
            "metadata": {"seed": 7},
        }
    )
    assert result.error == "worker lost 3 times"
    assert result.created_at == datetime(2026, 11, 21, 10, 0, tzinfo=UTC)
    assert result.finished_at is None
    assert result.seed == 7 and result.done and result.urls == []


def test_a_cancel_acts_on_outcome_as_runcomfy_publishes_it() -> None:
    # RunComfy's example pairs status "completed" with outcome "cancelled".
    assert CancelResponse.from_json(
        {"request_id": "r", "status": "completed", "outcome": "cancelled"}
    ).cancelled
    assert not CancelResponse.from_json(
        {"request_id": "r", "status": "in_progress", "outcome": "not_cancellable"}
    ).cancelled


def test_a_status_keeps_unknown_fields_in_raw_and_ignores_odd_values() -> None:
    status = RequestStatus.from_json(
        {"status": "in_queue", "queue_position": "3", "progress": "soon", "eta_s": 12},
        request_id="r",
    )
    assert status.request_id == "r" and status.queue_position is None and status.progress is None
    assert status.raw["eta_s"] == 12 and not status.done
