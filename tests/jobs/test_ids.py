from __future__ import annotations

import re

from opendream.jobs.ids import new_file_id, new_key_id, new_request_id


def test_ids_are_unique_and_url_safe() -> None:
    for make in (new_request_id, new_key_id, new_file_id):
        ids = {make() for _ in range(1000)}
        assert len(ids) == 1000
        assert all(re.fullmatch(r"[A-Za-z0-9_-]{20,}", i) for i in ids)
