"""Which images condition each generated image.

Series (sequential, edit-sequential): image k is conditioned on the user's references, the
first generated image and image k-1 (deduplicated; image 0 only on the user's references).
The user's references get the same slots in every image of a series, sized to leave room for
the longest chain the series uses (2 from image 2 on), so every image sees them the same way.
When they do not fit, the last slot becomes one contact sheet of the surplus. If the budget is
too small for everything, user references keep at least one slot, then the first generated
image, then the previous one.

Edit: all user references, with a contact sheet for the surplus.
"""

from __future__ import annotations

from opendream.engine.types import RefSource


def pack_user_references(count: int, budget: int) -> tuple[RefSource, ...]:
    """`count` user references in at most `budget` slots: singles, then one contact sheet."""
    if count <= 0 or budget <= 0:
        return ()
    if count <= budget:
        return tuple(RefSource("user", (i,)) for i in range(count))
    singles = tuple(RefSource("user", (i,)) for i in range(budget - 1))
    return (*singles, RefSource("contact_sheet", tuple(range(budget - 1, count))))


def edit_references(user_count: int, max_references: int) -> tuple[RefSource, ...]:
    return pack_user_references(user_count, max_references)


def series_references(
    user_count: int, images: int, max_references: int
) -> list[tuple[RefSource, ...]]:
    """The references of each image of a series of `images`."""
    longest_chain = min(2, max(0, images - 1))
    user_slots = max(min(1, max_references), max_references - longest_chain)
    user = pack_user_references(user_count, user_slots)
    plans = []
    for k in range(images):
        room = max(0, max_references - len(user))
        chain = tuple(RefSource("generated", (i,)) for i in _chain(k))[:room]
        plans.append((*user, *chain))
    return plans


def _chain(k: int) -> list[int]:
    """Earlier outputs image k is conditioned on: the first and the previous, once each."""
    if k == 0:
        return []
    return [0] if k == 1 else [0, k - 1]
