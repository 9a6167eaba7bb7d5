"""Payout execution on Celery: one task per payout, taking its id; safe to run any number of
times (billing.payouts.services.payout_execute pays once and posts once)."""

from __future__ import annotations

import logging

from celery import shared_task

logger = logging.getLogger(__name__)

MAX_RETRIES = 6


@shared_task(bind=True, max_retries=MAX_RETRIES, acks_late=True)
def payout_execute_task(self, *, payout_id: int) -> str:
    """Pay payout PAYOUT_ID (public schema). Provider trouble is retried with backoff, a bounded
    number of times; a payout still open after that is picked up by the resume sweep."""
    from .services import PayoutError, PayoutProviderError, payout_execute

    try:
        payout = payout_execute(payout_id=payout_id)
    except (PayoutProviderError, PayoutError) as exc:
        logger.warning("payout %s not finished, retrying: %s", payout_id, exc)
        raise self.retry(exc=exc, countdown=min(2**self.request.retries * 30, 1800)) from exc
    return payout.status


@shared_task
def payouts_resume_sweep_task() -> int:
    """Beat: queue again the payouts left queued or sending (a lost task, a killed worker)."""
    from .services import payout_tasks_send, payouts_stuck

    stuck = payouts_stuck()
    payout_tasks_send(payout_ids=stuck)
    return len(stuck)
