"""Fulfilment background work: thin tasks that take ids and call one service."""

from __future__ import annotations

from smtplib import SMTPException

from celery import shared_task


@shared_task(
    ignore_result=True,
    autoretry_for=(SMTPException, OSError),
    retry_backoff=True,
    max_retries=5,
)
def fulfilment_notice_task(*, supplier_order_id: int, step: str) -> bool:
    """E-mail the buyer a step of her order; sent from the shop's context (tenant-aware)."""
    from .services import fulfilment_notice_send

    return fulfilment_notice_send(supplier_order_id=supplier_order_id, step=step)


SETTLEMENT_SHARDS = 2


@shared_task(ignore_result=True)
def settlement_run_task() -> int:
    """Beat, daily: settle what the return window no longer holds, in parallel shards."""
    for shard in range(SETTLEMENT_SHARDS):
        settlement_shard_task.delay(shard=shard, shards=SETTLEMENT_SHARDS)
    return SETTLEMENT_SHARDS


@shared_task(ignore_result=True, acks_late=True)
def settlement_shard_task(*, shard: int, shards: int) -> int:
    """One shard of a settlement run; safe to run twice (each order is settled once)."""
    from .settlement import settlement_run

    return settlement_run(shard=shard, shards=shards)
