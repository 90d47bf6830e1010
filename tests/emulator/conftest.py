"""Clients for the emulator tests: the sync and async SDK and plain HTTP to the admin routes."""

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from openai import AsyncOpenAI, OpenAI

from tests.support.env import EMULATOR_KEY


@pytest.fixture
def client(emulator: str) -> Iterator[OpenAI]:
    with OpenAI(base_url=emulator, api_key=EMULATOR_KEY, max_retries=0) as sdk:
        yield sdk


@pytest.fixture
async def aclient(emulator: str) -> AsyncIterator[AsyncOpenAI]:
    async with AsyncOpenAI(base_url=emulator, api_key=EMULATOR_KEY, max_retries=0) as sdk:
        yield sdk


@pytest.fixture
def admin(emulator: str, emulator_base: str) -> Iterator[httpx.Client]:
    """Plain HTTP to /__emulator/ of the freshly reset emulator."""
    with httpx.Client(base_url=f"{emulator_base}/__emulator", timeout=10) as http:
        yield http


@pytest.fixture
async def aadmin(emulator: str, emulator_base: str) -> AsyncIterator[httpx.AsyncClient]:
    """The admin routes from async tests, which must not block the event loop."""
    async with httpx.AsyncClient(base_url=f"{emulator_base}/__emulator", timeout=10) as http:
        yield http
