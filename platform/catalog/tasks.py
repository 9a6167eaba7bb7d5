"""Catalog background work: thin tasks that take ids and call one service."""

from __future__ import annotations

from smtplib import SMTPException

from celery import shared_task


@shared_task(
    ignore_result=True,
    autoretry_for=(SMTPException, OSError),
    retry_backoff=True,
    max_retries=5,
)
def vetting_notice_task(event_id: int) -> bool:
    from .services.vetting import vetting_notice_send

    return vetting_notice_send(event_id=event_id)
