"""ARM concurrency is per subscription: subscriptions side by side, each within its limit and bucket."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import requests
from requests.adapters import HTTPAdapter

from collectors.azure.arm import ArmReader, StaticTokenCredential, subscription_of
from collectors.azure.pacing import Pacer
from collectors.azure.subscriptions import AzureSubscription
from collectors.config.inventory import AzureSource
from demo.standins.arm_emulator import ArmEmulator

ENDPOINT = "https://arm.emulator.test"
SUBSCRIPTIONS = ("aaaa", "bbbb", "cccc", "dddd")


class InFlight:
    """Counts what is in flight, per subscription and in all, and the most ever seen at once."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.now: Counter[str] = Counter()
        self.most: Counter[str] = Counter()
        self.total = 0
        self.most_total = 0

    def enter(self, subscription: str) -> None:
        with self._lock:
            self.now[subscription] += 1
            self.most[subscription] = max(self.most[subscription], self.now[subscription])
            self.total += 1
            self.most_total = max(self.most_total, self.total)

    def leave(self, subscription: str) -> None:
        with self._lock:
            self.now[subscription] -= 1
            self.total -= 1


@dataclass(frozen=True)
class Database:
    """Stands in for a collector's work item: an ARM id names its subscription."""

    id: str


def reader(per_subscription: int, total: int, endpoint: str = ENDPOINT, **settings: Any) -> ArmReader:
    source = AzureSource(
        endpoint=endpoint,
        credential="static-token",
        max_concurrency=per_subscription,
        max_concurrency_total=total,
        **settings,
    )
    return ArmReader(source, StaticTokenCredential("test"), ca_bundle=None)


@pytest.fixture
def arm() -> Iterator[ArmReader]:
    arm = reader(per_subscription=2, total=6)
    yield arm
    arm.close()


def test_work_items_run_subscriptions_side_by_side_each_within_its_limit(arm: ArmReader) -> None:
    # Sorted by subscription, as collectors hand them over: a plain pool would fill every
    # worker with the first subscription's items.
    items = [Database(f"/subscriptions/{sub}/databases/db{n}") for sub in SUBSCRIPTIONS for n in range(6)]
    seen = InFlight()

    def work(item: Database) -> str:
        subscription = str(subscription_of(item))
        seen.enter(subscription)
        time.sleep(0.05)
        seen.leave(subscription)
        return item.id

    started = time.monotonic()
    assert arm.map(work, items) == [item.id for item in items], "results keep the items' order"
    elapsed = time.monotonic() - started
    assert max(seen.most.values()) == 2, "one subscription never exceeds max_concurrency"
    assert seen.most_total == 6, "subscriptions run side by side up to max_concurrency_total"
    assert elapsed < 0.5, "well under the 0.6 s of two items at a time"


def test_requests_of_one_subscription_never_exceed_its_limit_even_when_work_cannot_tell() -> None:
    arm = reader(per_subscription=3, total=12)
    seen = InFlight()

    def answer(adapter: HTTPAdapter, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> Any:
        subscription = str(subscription_of((request.path_url or "").split("?")[0]))
        seen.enter(subscription)
        time.sleep(0.03)
        seen.leave(subscription)
        response = requests.Response()
        response.status_code, response._content, response.request = 200, b"{}", request
        return response

    # Plain numbers: map cannot tell their subscription, so only the adapter's slots limit them.
    def work(n: int) -> int:
        sub = SUBSCRIPTIONS[n % 2]
        return arm._session.get(f"{ENDPOINT}/subscriptions/{sub}/resources?n={n}").status_code

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(HTTPAdapter, "send", answer)
        assert arm.map(work, range(24)) == [200] * 24
    arm.close()
    assert seen.most[SUBSCRIPTIONS[0]] == 3
    assert seen.most[SUBSCRIPTIONS[1]] == 3
    assert seen.most_total == 6, "two subscriptions, three each, in flight together"
    assert arm.pacer is not None
    assert max(arm.pacer.most_in_flight().values()) == 3
    assert arm.requests_sent() == 24


def test_the_bucket_still_paces_one_subscription() -> None:
    burst, per_second = 5, 50.0
    pacer = Pacer(burst, per_second, in_flight=8)
    admitted: list[float] = []
    lock = threading.Lock()
    started = time.monotonic()

    def request() -> None:
        with pacer.admit("/subscriptions/aaaa/providers/Microsoft.Sql/servers"), lock:
            admitted.append(time.monotonic() - started)

    threads = [threading.Thread(target=request) for _ in range(30)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    admitted.sort()
    for count, at in enumerate(admitted, start=1):
        assert count <= burst + per_second * at + 1, f"{count} requests by {at:.3f} s"
    assert admitted[-1] >= (30 - burst) / per_second * 0.9
    assert pacer.seconds_waited() > 0


def test_each_subscription_has_its_own_bucket() -> None:
    pacer = Pacer(burst=3, per_second=1.0, in_flight=4)
    started = time.monotonic()
    for sub in SUBSCRIPTIONS:
        for _ in range(3):
            with pacer.admit(f"/subscriptions/{sub}/resourceGroups"):
                pass
    assert time.monotonic() - started < 0.5, "a full bucket per subscription: no waiting"
    assert pacer.seconds_waited() == 0


def test_the_work_items_of_collectors_name_their_subscription() -> None:
    assert subscription_of(AzureSubscription("AAAA", "prod", "Enabled", None)) == "aaaa"
    assert subscription_of((Database("/subscriptions/BBBB/x"), ())) == "bbbb"
    assert subscription_of("/subscriptions/cccc/providers/x") == "cccc"
    assert subscription_of(42) is None
    assert subscription_of(Database("not-an-arm-id")) is None


def test_a_failure_surfaces_first_in_order_and_stops_new_work(arm: ArmReader) -> None:
    started: list[int] = []

    def work(n: int) -> int:
        started.append(n)
        if n in (3, 5):
            time.sleep(0.01 * (5 - n))
            raise ValueError(n)
        time.sleep(0.02)
        return n

    with pytest.raises(ValueError, match="3"):
        arm.map(work, range(200))
    assert len(started) < 200, "no new work once an item failed"


def test_a_nested_fan_out_runs_inline_instead_of_waiting_for_busy_workers() -> None:
    arm = reader(per_subscription=1, total=2)
    try:
        result = arm.map(lambda n: sum(arm.map(lambda m: m * n, range(3))), range(4))
    finally:
        arm.close()
    assert result == [0, 3, 6, 9]


def test_many_subscriptions_at_once_are_never_throttled_by_arms_bucket() -> None:
    subscriptions = [f"{n:08d}-0000-0000-0000-000000000000" for n in range(4)]
    estate = {
        "subscriptions": [
            {"subscriptionId": sub, "displayName": sub, "state": "Enabled"} for sub in subscriptions
        ],
        "resources": [],
    }
    with ArmEmulator(estate, latency=0.01, throttle=(12, 30.0)) as emulator:
        arm = reader(4, 16, endpoint=emulator.url, reads_burst=10, reads_per_second=25.0)

        def read(n: int) -> int:
            url = f"{emulator.url}/subscriptions/{subscriptions[n % 4]}/resourcegroups?api-version=2021-04-01"
            headers = {"Authorization": "Bearer test"}
            return arm._session.get(url, headers=headers, verify=str(emulator.ca_file)).status_code

        try:
            answers = arm.map(read, range(4 * 30))
        finally:
            arm.close()
    assert 429 not in answers
    assert emulator.throttled == 0
    assert arm.requests_throttled() == 0
    assert arm.requests_sent() == 120
    assert arm.pacer is not None
    assert max(arm.pacer.most_in_flight().values()) <= 4
