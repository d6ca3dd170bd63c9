"""Scale-out: the message bus on Redis Streams, and a conversation store in Redis.

`interplay run --role ingress` runs channels and appends messages to partitioned streams;
`interplay worker` processes answer them. Nothing here is imported unless config asks for
Redis, so `import interplay.core` never pulls in redis-py. See docs/scale-out.md.
"""
