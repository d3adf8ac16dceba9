"""The plugin under test, for rockets' test kit (its pytest plugin, which pytest loads by itself
wherever rockets is installed): every ``rockets_*`` fixture serves it with the standard types."""

from __future__ import annotations

import pytest
import rockets_fuel.plugin


@pytest.fixture
def rockets_plugins() -> list[object]:
    return [rockets_fuel.plugin]
