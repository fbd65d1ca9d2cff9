"""Any JSON value as a body: validation never raises, and every problem is well formed."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from opendream.catalog import MODELS, validate_input

FIELDS = [
    "text",
    "prompt",
    "images",
    "seed",
    "image_size",
    "resolution",
    "sequential_image_generation_options",
    "optimize_prompt_options",
    "sequential_image_generation",
]

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=700),
    lambda children: (
        st.lists(children, max_size=12)
        | st.dictionaries(st.text(max_size=10), children, max_size=5)
    ),
    max_leaves=30,
)
bodies = st.dictionaries(st.sampled_from(FIELDS) | st.text(max_size=8), json_values, max_size=9)


@settings(max_examples=300, deadline=None)
@given(model_id=st.sampled_from(sorted(MODELS)), body=bodies | json_values)
def test_never_raises_and_problems_are_well_formed(model_id, body):
    clean, problems = validate_input(model_id, body)
    for p in problems:
        assert p["loc"][0] == "body"
        assert isinstance(p["msg"], str) and p["msg"]
        assert isinstance(p["type"], str) and p["type"]
        json.dumps(p, allow_nan=False)  # serialisable for the 422 body
    if not problems:
        # a clean input is exactly what the schema allows: known fields only
        assert set(clean) <= set(MODELS[model_id].input_schema["properties"])
