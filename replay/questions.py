"""Auditors' questions, answered from the query tables of a schema.

Every answer names the events it rests on (source event ids as the courts and
agencies submitted them), so a reader can follow it back into the log.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import psycopg
from psycopg import sql
from psycopg.rows import dict_row

from projections.check import (
    BINDS,
    Subject,
    bound_as,
    is_active,
    matched_listings,
    normalized_agency,
    qualified,
    stale_reason,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")


def _rows(
    conn: psycopg.Connection[Any], query: sql.Composed, params: dict[str, Any]
) -> list[dict[str, Any]]:
    with conn.cursor(row_factory=dict_row) as cur:
        cur.execute(query, params)
        return list(cur.fetchall())


def end_of_day(day: date) -> datetime:
    """The last instant of a legal day: 24:00 Asia/Shanghai, exclusive."""
    return datetime.combine(day + timedelta(days=1), time(0), SHANGHAI)


def listing_history(
    conn: psycopg.Connection[Any], schema: str, listing_id: str, derived: bool = False
) -> list[dict[str, Any]]:
    """Every event of a listing: when the act took effect and when the ledger
    recorded it (broker time, topic, partition, offset)."""
    query = sql.SQL(
        "SELECT occurred_at AS took_effect, broker_time AS recorded, event_type, "
        'actor_kind, actor_code, source_event_id, topic, partition, "offset", '
        "derived, event_id FROM {}.events "
        "WHERE listing_id = %(listing)s AND (%(derived)s OR NOT derived) "
        "ORDER BY occurred_at, derived, seq NULLS LAST, event_id"
    ).format(sql.Identifier(schema))
    rows = _rows(conn, query, {"listing": listing_id, "derived": derived})
    if not rows:
        raise LookupError(
            f"no events for listing {listing_id!r} in schema {schema!r}; expected a"
            " listing id as the query rows show it (case number|masked id, e.g."
            " （2021）闽0206执654号|3502061973****2157)"
        )
    return rows


def _in_effect(prefix: str = "") -> str:
    """The condition that a history row (columns prefixed `prefix`) is the version
    in effect at the parameter `at`, as the ledger knows it now."""
    return (
        f"{prefix}valid_from <= %(at)s "
        f"AND ({prefix}valid_to IS NULL OR %(at)s < {prefix}valid_to) "
        f"AND {prefix}known_to IS NULL"
    )


def had_to_enforce(
    conn: psycopg.Connection[Any],
    schema: str,
    subject: str,
    day: date,
    agency: str | None = None,
) -> list[dict[str, Any]]:
    """The measures an agency's own state had in force against a subject at the end
    of `day`, with the listing's state and the last day of its term
    (`term_expires`) on that day, and whether enforcing was due.

    The subject is matched as `shixin check` matches it, by the check's own
    fragments (`projections.check.Subject`, `matched_listings`, `BINDS`) applied to
    the listing versions in effect on `day`: the identifier in any spelling the
    check folds (a masked or otherwise invalid one is a `SubjectError`, as it is
    for the check), a USCC also by the organisation code inside it (a listing the
    platform recorded by the code alone), a resident ID also as the legal
    representative of organisation listings, bound there by the consumption bans
    of group 七 alone. Each row has the `role` (`DEBTOR` | `LEGAL_REPRESENTATIVE`)
    and `bound_as` ("bound as legal representative of <org> (<code>)") the check
    reports. `agency` is read in any case, as the check reads it.

    `must_enforce` is the interception rule of `projections.check` (`is_active`,
    the very function `shixin check` applies) for the versions in effect on `day`
    as the ledger knows them now: a measure `APPLIED` on a listing in force whose
    term, if its decision set one, had not ended by `day` (its last day still
    counts), or one `RETAINED` with a legal basis until its `retained_until`.
    When an `APPLIED` measure was not to be enforced, `stale_reason` says why, as
    the check says it: the listing had left the list (shielded, revoked, deleted,
    expired), or its term had ended though the court had not yet recorded the
    deletion it owes (SPC2017 art.10 para.2). The agency should have released it,
    and enforcing it was itself a violation.
    """
    who = Subject.of(subject)
    code = None if agency is None else normalized_agency(agency)
    at = end_of_day(day) - timedelta(microseconds=1)
    matched = matched_listings(
        qualified(schema, "listings_history"), " AND " + _in_effect()
    )
    query = sql.SQL(
        """
        SELECT l.listing_id, l.case_number, l.court_code, s.agency, s.measure_code,
               s.state AS measure_state, s.since, s.reason, s.legal_basis,
               s.retained_until, s.trigger_event, l.listing_state,
               l.term_expires, l.role, l.debtor_name, l.org_code
        FROM ({matched}) l
        JOIN {s}.sanctions_history s ON s.listing_id = l.listing_id
        WHERE (%(agency)s::text IS NULL OR s.agency = %(agency)s)
          AND {sanction_in_effect}
          AND {binds}
        ORDER BY l.listing_id, s.agency, s.measure_code
        """
    ).format(
        matched=sql.SQL(matched),
        s=sql.Identifier(schema),
        sanction_in_effect=sql.SQL(_in_effect("s.")),
        binds=sql.SQL(BINDS),
    )
    rows = _rows(conn, query, who.params(code) | {"at": at})
    for row in rows:
        row["must_enforce"] = is_active(
            row["listing_state"],
            row["measure_state"],
            row["legal_basis"],
            row["retained_until"],
            day,
            row["term_expires"],
        )
        row["stale_reason"] = (
            stale_reason(
                row["listing_id"], row["listing_state"], row["term_expires"], day
            )
            if row["measure_state"] == "APPLIED" and not row["must_enforce"]
            else None
        )
        row["role"] = row.pop("role")
        row["bound_as"] = bound_as(
            row["role"], row.pop("debtor_name"), row.pop("org_code")
        )
    return rows


def missed_deadlines(
    conn: psycopg.Connection[Any],
    schema: str,
    since: date,
    until: date,
    responsible_kind: str | None = None,
    responsible_code: str | None = None,
) -> list[dict[str, Any]]:
    """Violations of the authorities (courts, agencies, republishers) whose due
    date (or, for state conditions, whose offending act) falls in [since, until],
    with the rule, its source and the events. A party's own period (a debtor who
    objected after the 10 days) is no one's missed deadline, as in `accountability`."""
    query = sql.SQL(
        """
        SELECT v.responsible_kind, v.responsible_code, v.rule_id, v.rule_source,
               v.listing_id, v.trigger_event, v.response_event, v.due_date,
               v.actual_date, v.verdict, v.detected_by, v.reason
        FROM {s}.violations v
        WHERE NOT v.withdrawn
          AND v.obligor <> 'PARTY'
          AND coalesce(v.due_date, v.actual_date,
                       (v.triggered_at AT TIME ZONE 'Asia/Shanghai')::date)
              BETWEEN %(since)s AND %(until)s
          AND (%(kind)s::text IS NULL OR v.responsible_kind = %(kind)s)
          AND (%(code)s::text IS NULL OR v.responsible_code = %(code)s)
        ORDER BY v.responsible_kind, v.responsible_code, v.due_date NULLS LAST,
                 v.rule_id, v.listing_id
        """
    ).format(s=sql.Identifier(schema))
    return _rows(
        conn,
        query,
        {
            "since": since,
            "until": until,
            "kind": responsible_kind,
            "code": responsible_code,
        },
    )


def republishers(conn: psycopg.Connection[Any], schema: str) -> list[str]:
    """The republishers (named in free text) some obligation of the schema binds."""
    query = sql.SQL(
        "SELECT DISTINCT responsible_code FROM {}.obligations "
        "WHERE responsible_kind = 'REPUBLISHER' AND responsible_code IS NOT NULL "
        "ORDER BY 1"
    ).format(sql.Identifier(schema))
    return [r[0] for r in conn.execute(query)]


def accountability(
    conn: psycopg.Connection[Any], schema: str, since: date, until: date
) -> list[dict[str, Any]]:
    """Obligations of the authorities (courts, agencies, republishers) due on a day
    of [since, until], both included, and how many of them were met on time, late,
    violated or are still open, per responsible party. An obligation with no due
    date counts on the day it was triggered (Asia/Shanghai), as in the monthly
    `accountability` view. A party's own periods (a debtor's right to object) are
    not accountability: a lapsed one is no one's failure."""
    query = sql.SQL(
        """
        SELECT responsible_kind, responsible_code,
               count(*)::int AS obligations_due,
               (count(*) FILTER (WHERE status = 'MET'))::int AS met_on_time,
               (count(*) FILTER (WHERE status = 'LATE'))::int AS late,
               (count(*) FILTER (WHERE status = 'VIOLATED'))::int AS violated,
               (count(*) FILTER (WHERE status = 'OPEN'))::int AS open
        FROM {s}.obligations
        WHERE obligor <> 'PARTY'
          AND coalesce(due_date, (triggered_at AT TIME ZONE 'Asia/Shanghai')::date)
              BETWEEN %(since)s AND %(until)s
        GROUP BY 1, 2
        ORDER BY 1, 2
        """
    ).format(s=sql.Identifier(schema))
    return _rows(conn, query, {"since": since, "until": until})
