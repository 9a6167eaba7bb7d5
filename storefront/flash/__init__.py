"""Flash sales (秒杀): pre-registration, a Redis-gated rush, orders written in batches."""
