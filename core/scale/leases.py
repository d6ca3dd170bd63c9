"""Partition leases: each partition is read by at most one live worker at a time.

Workers heartbeat into a sorted set; each takes a fair share (partitions / live workers) of
the partitions, renews its leases every third of `lease_ttl`, and gives extras back once
their in-flight messages are done. A worker that stops renewing (crashed, hung, cut off)
loses its leases after `lease_ttl`; whoever takes a partition over first reclaims its pending
entries with XAUTOCLAIM, then reads new ones, so order inside a conversation holds.
"""

from __future__ import annotations

import asyncio
import logging
import math
import random
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from . import scripts
from .keys import Keys, stop_if_cancelled

if TYPE_CHECKING:
    from redis.asyncio import Redis

    from .partition import Partition

log = logging.getLogger("interplay.scale.leases")
PartitionFactory = Callable[[int], "Partition"]


class Leases:
    """Acquires, renews and hands back this worker's partitions."""

    def __init__(
        self, client: Redis, keys: Keys, name: str, ttl: float, factory: PartitionFactory, drain: float
    ) -> None:
        self.client: Any = client  # Any: redis-py annotates replies as bytes | str even with decode_responses
        self.keys = keys
        self.name = name
        self.ttl = ttl
        self.factory = factory
        self.drain = drain  # seconds a handed-back partition may take to finish in-flight messages
        self.owned: dict[int, Partition] = {}
        self._renew = client.register_script(scripts.RENEW)
        self._release = client.register_script(scripts.RELEASE)
        self._renewed_at = time.monotonic()
        self._releasing: set[asyncio.Task[None]] = set()
        self.stopping = False

    async def run(self) -> None:
        """Rebalance forever, every third of the lease TTL."""
        from redis.exceptions import RedisError

        while not self.stopping:  # a flag as well as cancel(): redis-py may swallow a cancellation
            try:
                await self.tick()
            except (RedisError, OSError) as exc:
                stop_if_cancelled()
                log.warning("cannot renew partition leases: %s", exc)
            except Exception:  # a bug: keep the traceback; the check below still fences us
                log.exception("unexpected failure while renewing partition leases")
            if time.monotonic() - self._renewed_at > self.ttl:
                await self._abandon_all()  # our leases have expired: others may own them now
            await asyncio.sleep(self.ttl / 3)

    async def tick(self) -> None:
        """Heartbeat, renew, then give back extras or take free partitions up to a fair share."""
        share = await self._heartbeat()
        await self._renew_owned()
        self._renewed_at = time.monotonic()
        active = sorted(n for n, p in self.owned.items() if not p.releasing)
        for number in active[share:]:
            self._spawn_release(number)
        if len(active) < share:
            await self._acquire(share - len(active))

    async def _heartbeat(self) -> int:
        seconds, micros = await self.client.time()
        now = seconds + micros / 1e6  # Redis's clock: workers on different machines may disagree
        async with self.client.pipeline(transaction=True) as tx:
            tx.zadd(self.keys.workers, {self.name: now})
            tx.zremrangebyscore(self.keys.workers, "-inf", now - self.ttl)
            tx.zcard(self.keys.workers)
            live = (await tx.execute())[-1]
        return math.ceil(self.keys.partitions / max(int(live), 1))

    async def _renew_owned(self) -> None:
        owned = list(self.owned.items())
        if not owned:
            return
        keys = [self.keys.lease(number) for number, _ in owned]
        held = await self._renew(keys=keys, args=[self.name, int(self.ttl * 1000)])
        late = time.monotonic() - self._renewed_at
        for (number, partition), ok in zip(owned, held, strict=True):
            if not ok:
                log.warning(
                    "lost the lease on partition %d (last renewed %.1fs ago, lease_ttl %.1fs); "
                    "another worker takes it over",
                    number,
                    late,
                    self.ttl,
                )
                self.owned.pop(number, None)
                await partition.abandon()

    async def _acquire(self, wanted: int) -> None:
        free = [n for n in range(self.keys.partitions) if n not in self.owned]
        random.shuffle(free)  # so that workers starting together do not all race for partition 0
        ttl_ms = int(self.ttl * 1000)
        for number in free:
            if wanted <= 0:
                return
            if await self.client.set(self.keys.lease(number), self.name, nx=True, px=ttl_ms):
                partition = self.owned[number] = self.factory(number)
                partition.start()
                wanted -= 1
                log.info("took partition %d", number)

    def _spawn_release(self, number: int) -> None:
        task = asyncio.create_task(self._hand_back(number))
        self._releasing.add(task)
        task.add_done_callback(self._releasing.discard)

    async def _hand_back(self, number: int) -> None:
        partition = self.owned.get(number)
        if partition is None:  # abandoned meanwhile
            return
        await partition.stop(self.drain)
        if self.owned.get(number) is partition:
            del self.owned[number]
            await self._release(keys=[self.keys.lease(number)], args=[self.name])
            log.info("handed partition %d back", number)

    async def _abandon_all(self) -> None:
        for number in list(self.owned):
            await self.owned.pop(number).abandon()

    async def stop(self, deadline: float) -> None:
        """Finish in-flight messages within `deadline` s, then give every lease back at once."""
        self.stopping = True
        for task in list(self._releasing):
            task.cancel()
        await asyncio.gather(*self._releasing, return_exceptions=True)
        owned, self.owned = self.owned, {}
        await asyncio.gather(*(p.stop(deadline) for p in owned.values()), return_exceptions=True)
        for number in owned:
            await self._release(keys=[self.keys.lease(number)], args=[self.name])
        await self.client.zrem(self.keys.workers, self.name)
