"""Check each journal entry once at commit, not once per posting, with one query.

The balance trigger (0003) fires for every posting row; an entry of four postings was summed four
times with the same result. Deferred triggers fire in the order of their events, so an entry's
postings come one after another: the check now remembers the last entry it passed
(`billing.ledger_checked`, a transaction-local setting) and skips the repeats. Any INSERT into
the postings forgets it (a statement trigger, which fires at once, before any deferred check),
so a skipped check always had the same rows to look at as the one that passed.
The currency check joins into the same query.
"""

from __future__ import annotations

from django.db import migrations

FORWARD = r"""
CREATE OR REPLACE FUNCTION billing_ledger_posting_check() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    bad record;
BEGIN
    IF current_setting('billing.ledger_checked', true) = NEW.entry_id::text THEN
        RETURN NULL;
    END IF;
    SELECT p.currency, sum(p.amount) AS total, bool_or(p.currency <> a.currency) AS mixed INTO bad
      FROM billing_posting p
      JOIN billing_ledgeraccount a ON a.id = p.account_id
     WHERE p.entry_id = NEW.entry_id
     GROUP BY p.currency
    HAVING sum(p.amount) <> 0 OR bool_or(p.currency <> a.currency)
     LIMIT 1;
    IF FOUND AND bad.mixed THEN
        RAISE EXCEPTION 'ledger: journal entry % has a posting in % on an account in another currency', NEW.entry_id, bad.currency
            USING ERRCODE = 'check_violation';
    ELSIF FOUND THEN
        RAISE EXCEPTION 'ledger: journal entry % does not balance: % % off', NEW.entry_id, bad.total, bad.currency
            USING ERRCODE = 'check_violation';
    END IF;
    PERFORM set_config('billing.ledger_checked', NEW.entry_id::text, true);
    RETURN NULL;
END
$$;

CREATE FUNCTION billing_ledger_posting_forget() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM set_config('billing.ledger_checked', '', true);
    RETURN NULL;
END
$$;

CREATE TRIGGER billing_ledger_posting_forget
    AFTER INSERT ON billing_posting
    FOR EACH STATEMENT EXECUTE FUNCTION billing_ledger_posting_forget();
"""

REVERSE = r"""
DROP TRIGGER IF EXISTS billing_ledger_posting_forget ON billing_posting;
DROP FUNCTION IF EXISTS billing_ledger_posting_forget();
CREATE OR REPLACE FUNCTION billing_ledger_posting_check() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    bad record;
BEGIN
    SELECT p.currency, sum(p.amount) AS total INTO bad
      FROM billing_posting p
     WHERE p.entry_id = NEW.entry_id
     GROUP BY p.currency
    HAVING sum(p.amount) <> 0
     LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'ledger: journal entry % does not balance: % % off', NEW.entry_id, bad.total, bad.currency
            USING ERRCODE = 'check_violation';
    END IF;
    PERFORM 1 FROM billing_ledgeraccount a WHERE a.id = NEW.account_id AND a.currency <> NEW.currency;
    IF FOUND THEN
        RAISE EXCEPTION 'ledger: posting % is in %, its account % is not', NEW.id, NEW.currency, NEW.account_id
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END
$$;
"""


class Migration(migrations.Migration):
    dependencies = [("billing", "0003_ledger_triggers")]

    operations = [migrations.RunSQL(FORWARD, REVERSE)]
