"""Fixtures shared by every layer's tests."""

from collections.abc import AsyncIterator

import pytest

from arborist.actors import ActorSystem, open_actor_system


@pytest.fixture
async def system() -> AsyncIterator[ActorSystem]:
    """An open actor system; its actors are shut down when the test ends."""
    async with open_actor_system() as opened:
        yield opened
