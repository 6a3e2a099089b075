"""Keyword arguments left out: the default of a service's optional fields (HackSoft: typed keyword-only services).

On create a field not given takes the model's default; on update it keeps its current value. `given` picks
out the fields a caller did give, from the service's `locals()` taken as its first statement.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from typing import Any


class NotGiven(enum.Enum):
    NOT_GIVEN = "not given"


NOT_GIVEN = NotGiven.NOT_GIVEN


def given(parameters: Mapping[str, Any], names: Iterable[str]) -> dict[str, Any]:
    """The `names` among `parameters` whose value was given (is not NOT_GIVEN), in the order of `names`."""
    return {name: parameters[name] for name in names if parameters[name] is not NOT_GIVEN}
