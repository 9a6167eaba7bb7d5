"""The database's own guarantees for the ledger, whatever code (or person) writes to it.

- At commit, every journal entry touched sums to zero per currency, has at least two postings,
  and each posting's currency is its account's (deferred constraint triggers: the postings of an
  entry are inserted one statement after another, so the check must wait for the last one).
- Entries and postings are never updated, deleted or truncated: corrections are new entries.
"""

from __future__ import annotations

from django.db import migrations

FORWARD = r"""
CREATE FUNCTION billing_ledger_posting_check() RETURNS trigger LANGUAGE plpgsql AS $$
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

CREATE CONSTRAINT TRIGGER billing_ledger_posting_balanced
    AFTER INSERT ON billing_posting
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION billing_ledger_posting_check();

CREATE FUNCTION billing_ledger_entry_check() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    n integer;
BEGIN
    SELECT count(*) INTO n FROM billing_posting WHERE entry_id = NEW.id;
    IF n < 2 THEN
        RAISE EXCEPTION 'ledger: journal entry % has % posting(s); an entry needs at least two', NEW.id, n
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END
$$;

CREATE CONSTRAINT TRIGGER billing_ledger_entry_postings
    AFTER INSERT ON billing_journalentry
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION billing_ledger_entry_check();

CREATE FUNCTION billing_ledger_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'ledger: % on % refused: posted ledger rows are never changed; post a correcting entry', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END
$$;

CREATE TRIGGER billing_ledger_posting_append_only
    BEFORE UPDATE OR DELETE ON billing_posting
    FOR EACH ROW EXECUTE FUNCTION billing_ledger_append_only();
CREATE TRIGGER billing_ledger_posting_no_truncate
    BEFORE TRUNCATE ON billing_posting
    FOR EACH STATEMENT EXECUTE FUNCTION billing_ledger_append_only();
CREATE TRIGGER billing_ledger_entry_append_only
    BEFORE UPDATE OR DELETE ON billing_journalentry
    FOR EACH ROW EXECUTE FUNCTION billing_ledger_append_only();
CREATE TRIGGER billing_ledger_entry_no_truncate
    BEFORE TRUNCATE ON billing_journalentry
    FOR EACH STATEMENT EXECUTE FUNCTION billing_ledger_append_only();
"""

REVERSE = r"""
DROP TRIGGER IF EXISTS billing_ledger_entry_no_truncate ON billing_journalentry;
DROP TRIGGER IF EXISTS billing_ledger_entry_append_only ON billing_journalentry;
DROP TRIGGER IF EXISTS billing_ledger_posting_no_truncate ON billing_posting;
DROP TRIGGER IF EXISTS billing_ledger_posting_append_only ON billing_posting;
DROP FUNCTION IF EXISTS billing_ledger_append_only();
DROP TRIGGER IF EXISTS billing_ledger_entry_postings ON billing_journalentry;
DROP FUNCTION IF EXISTS billing_ledger_entry_check();
DROP TRIGGER IF EXISTS billing_ledger_posting_balanced ON billing_posting;
DROP FUNCTION IF EXISTS billing_ledger_posting_check();
"""


class Migration(migrations.Migration):
    dependencies = [("billing", "0002_ledger")]

    operations = [migrations.RunSQL(FORWARD, REVERSE)]
