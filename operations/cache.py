"""The Redis cache with one client object per connection pool.

Django's RedisCacheClient builds a new `redis.Redis` for every cache call; redis-py 8
fills a case-insensitive table of ~170 response callbacks in each one (~0.1 ms of CPU,
as much as the GET itself). The hot requests make several cache calls each (token
look-up, poll versions, throttles, sessions), so the client is built once per pool and
kept. A `redis.Redis` over a pool is safe to share between threads (each command
borrows a connection from the pool); Django's caches are per thread anyway.
"""

from django.core.cache.backends.redis import RedisCache, RedisCacheClient


class _ReusedClientRedisCacheClient(RedisCacheClient):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._clients = {}

    def get_client(self, key=None, *, write=False):
        index = self._get_connection_pool_index(write)
        client = self._clients.get(index)
        if client is None:
            client = self._clients[index] = self._client(
                connection_pool=self._get_connection_pool(write)
            )
        return client


class ReusedClientRedisCache(RedisCache):
    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = _ReusedClientRedisCacheClient

    def incr_many_or_start(self, keys: list[str], start: int, *, tell: bool = False) -> None:
        """Add one to each of `keys`, a missing one first set to `start` (with the
        cache's default timeout): one round trip for all, where `incr` takes two per key
        (EXISTS, then INCRBY) and `add` a third. `tell`: each move also published on the
        key's own channel (channel_of), in the same round trip."""
        timeout = self.get_backend_timeout()
        client = self._cache.get_client(write=True)
        pipeline = client.pipeline(transaction=False)
        for key in keys:
            made = self.make_and_validate_key(key)
            # Django's Redis serializer stores integers as they are: INCR reads them.
            pipeline.set(made, start, ex=timeout, nx=True)
            pipeline.incr(made)
            if tell:
                pipeline.publish(_channel(client, made), b"")
        pipeline.execute()

    def channel_of(self, key: str) -> str:
        """Where `key`'s moves are told (incr_many_or_start's `tell`)."""
        return _channel(self._cache.get_client(write=True), self.make_and_validate_key(key))


def _channel(client, made_key: str) -> str:
    """A made key's channel: the key after the number of the Redis database, whose
    server's channels every database shares."""
    return f"{client.connection_pool.connection_kwargs.get('db', 0)}/{made_key}"
