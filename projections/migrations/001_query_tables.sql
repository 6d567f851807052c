-- Query tables of the ledger (issue 7). Applied with search_path set to the target
-- schema: every name below is unqualified on purpose.

-- Every event the projector applied, ledger and derived, for auditors.
-- Derived events carry the position of the ledger event that caused them.
CREATE TABLE events (
    event_id        text PRIMARY KEY,
    event_type      text NOT NULL,
    listing_id      text NOT NULL,
    derived         boolean NOT NULL,
    occurred_at     timestamptz NOT NULL,
    broker_time     timestamptz NOT NULL,
    topic           text NOT NULL,
    "partition"     integer NOT NULL,
    "offset"        bigint NOT NULL,
    actor_kind      text NOT NULL,
    actor_code      text,
    actor_name      text,
    jurisdiction    text NOT NULL,
    source_event_id text,
    seq             integer,
    correlation_id  text,
    causation_id    text,
    payload         jsonb NOT NULL
);
CREATE INDEX events_listing_idx ON events (listing_id);

-- Listings (失信名单条目): current state; `fold_state` is the projector's memory.
CREATE TABLE listings (
    listing_id          text PRIMARY KEY,
    court_code          text,
    court_name          text,
    case_number         text,
    debtor_name         text,
    entity_type         text,
    subject_id          text,   -- full resident ID or USCC: for interception only
    org_code            text,   -- organisation code (inside the USCC)
    masked_id           text,   -- as the national platform shows it
    legal_representative text,
    legal_rep_id        text,
    conduct_codes       text[] NOT NULL DEFAULT '{}',
    publishable         boolean NOT NULL DEFAULT true,
    state               text NOT NULL,
    platform_record_id  bigint,
    term_expires        date,
    decided_at          timestamptz,
    published_at        timestamptz,
    withdrawn_at        timestamptz,
    shielded_at         timestamptz,
    revoked_at          timestamptz,
    deleted_at          timestamptz,
    expired_at          timestamptz,
    corrected_at        timestamptz,
    decision_event      text,
    publish_event       text,
    shield_event        text,
    revoke_event        text,
    delete_event        text,
    last_event          text NOT NULL,
    valid_from          timestamptz NOT NULL,
    known_from          timestamptz NOT NULL,
    known_topic         text NOT NULL,
    known_partition     integer NOT NULL,
    known_offset        bigint NOT NULL,
    fold_state          jsonb NOT NULL,
    CONSTRAINT listings_masked_never_full CHECK (
        masked_id IS NULL OR entity_type IS DISTINCT FROM 'NATURAL_PERSON'
        OR masked_id LIKE '%*%'
    )
);
CREATE INDEX listings_subject_idx ON listings (subject_id);
CREATE INDEX listings_org_code_idx ON listings (org_code);

-- Sanction state (联合惩戒) per listing, agency and measure.
CREATE TABLE sanctions (
    listing_id      text NOT NULL,
    agency          text NOT NULL,
    measure_code    text NOT NULL,
    state           text NOT NULL,
    previous_state  text,
    since           timestamptz NOT NULL,
    reason          text,
    legal_basis     text,
    retained_until  date,
    trigger_event   text NOT NULL,
    last_event      text NOT NULL,
    valid_from      timestamptz NOT NULL,
    known_from      timestamptz NOT NULL,
    known_topic     text NOT NULL,
    known_partition integer NOT NULL,
    known_offset    bigint NOT NULL,
    fold_state      jsonb NOT NULL,
    PRIMARY KEY (listing_id, agency, measure_code)
);

-- Obligations: one rule checked against one trigger.
CREATE TABLE obligations (
    obligation_id     text PRIMARY KEY,
    listing_id        text NOT NULL,
    status            text NOT NULL,  -- OPEN | MET | LATE | VIOLATED
    rule_id           text NOT NULL,
    rule_source       text NOT NULL,
    policy_version    text NOT NULL,
    obligor           text NOT NULL,
    responsible_kind  text NOT NULL,
    responsible_code  text,
    trigger_event     text NOT NULL,
    triggered_at      timestamptz NOT NULL,
    limit_value       integer,
    limit_unit        text,
    due_date          date,
    due_at            timestamptz,
    provisional       boolean NOT NULL,
    calendar_version  text,
    why               text NOT NULL,
    response_event    text,
    answered_at       timestamptz,
    verdict           text,
    elapsed_calendar_days integer,
    elapsed_working_days  integer,
    opened_event      text,
    met_event         text,
    violated_event    text,
    last_event        text NOT NULL,
    valid_from        timestamptz NOT NULL,
    known_from        timestamptz NOT NULL,
    known_topic       text NOT NULL,
    known_partition   integer NOT NULL,
    known_offset      bigint NOT NULL,
    fold_state        jsonb NOT NULL
);
CREATE INDEX obligations_listing_idx ON obligations (listing_id);

-- Violations: everything DeadlineViolated carries, plus the later answer.
CREATE TABLE violations (
    obligation_id     text PRIMARY KEY,
    listing_id        text NOT NULL,
    rule_id           text NOT NULL,
    rule_source       text NOT NULL,
    policy_version    text NOT NULL,
    obligor           text NOT NULL,
    responsible_kind  text NOT NULL,
    responsible_code  text,
    trigger_event     text NOT NULL,
    triggered_at      timestamptz NOT NULL,
    due_date          date,
    due_at            timestamptz,
    provisional       boolean NOT NULL,
    verdict           text NOT NULL,
    detected_by       text NOT NULL,
    response_event    text,
    actual_date       date,
    reason            text NOT NULL,
    violated_event    text NOT NULL,
    answer_event      text,     -- the answering act, when it came after the violation
    answered_at       timestamptz,
    withdrawn         boolean NOT NULL,
    last_event        text NOT NULL,
    valid_from        timestamptz NOT NULL,
    known_from        timestamptz NOT NULL,
    known_topic       text NOT NULL,
    known_partition   integer NOT NULL,
    known_offset      bigint NOT NULL
);
CREATE INDEX violations_listing_idx ON violations (listing_id);

-- Bitemporal history of each current table: valid_* = effective time of the legal
-- act, known_* = broker time (and position) of the ledger event that taught it.
CREATE TABLE listings_history (LIKE listings EXCLUDING CONSTRAINTS);
CREATE TABLE sanctions_history (LIKE sanctions EXCLUDING CONSTRAINTS);
CREATE TABLE obligations_history (LIKE obligations EXCLUDING CONSTRAINTS);
CREATE TABLE violations_history (LIKE violations EXCLUDING CONSTRAINTS);
ALTER TABLE listings_history DROP COLUMN fold_state,
    ADD COLUMN valid_to timestamptz, ADD COLUMN known_to timestamptz;
ALTER TABLE sanctions_history DROP COLUMN fold_state,
    ADD COLUMN valid_to timestamptz, ADD COLUMN known_to timestamptz;
ALTER TABLE obligations_history DROP COLUMN fold_state,
    ADD COLUMN valid_to timestamptz, ADD COLUMN known_to timestamptz;
ALTER TABLE violations_history
    ADD COLUMN valid_to timestamptz, ADD COLUMN known_to timestamptz;
CREATE INDEX listings_history_key_idx ON listings_history (listing_id);
CREATE INDEX sanctions_history_key_idx
    ON sanctions_history (listing_id, agency, measure_code);
CREATE INDEX obligations_history_key_idx ON obligations_history (obligation_id);
CREATE INDEX obligations_history_listing_idx ON obligations_history (listing_id);
CREATE INDEX violations_history_key_idx ON violations_history (obligation_id);
CREATE INDEX violations_history_listing_idx ON violations_history (listing_id);

-- Offsets of each projector, written in the same transaction as its rows.
CREATE TABLE projector_offsets (
    projector   text NOT NULL,
    topic       text NOT NULL,
    "partition" integer NOT NULL,
    next_offset bigint NOT NULL,
    PRIMARY KEY (projector, topic, "partition")
);

-- Messages the projector could not decode: kept, never silently dropped.
CREATE TABLE projector_rejects (
    projector   text NOT NULL,
    topic       text NOT NULL,
    "partition" integer NOT NULL,
    "offset"    bigint NOT NULL,
    error       text NOT NULL,
    PRIMARY KEY (projector, topic, "partition", "offset")
);

-- Public list (公开): publishable, published, unshielded, unrevoked, undeleted
-- entries, with the identifier as the platform masks it; never the full number.
CREATE VIEW public_listings AS
SELECT listing_id, debtor_name, entity_type, masked_id AS card_number,
       legal_representative, court_code, court_name, case_number, conduct_codes,
       platform_record_id, published_at
FROM listings
WHERE publishable AND state = 'PUBLISHED';

-- Accountability (责任追究) figures per responsible court/agency and month of the due
-- date (of the trigger for state conditions), Asia/Shanghai.
CREATE VIEW accountability AS
SELECT responsible_kind,
       responsible_code,
       date_trunc('month', coalesce(
           due_date, (triggered_at AT TIME ZONE 'Asia/Shanghai')::date))::date AS month,
       count(*) AS obligations_due,
       count(*) FILTER (WHERE status = 'MET') AS met_on_time,
       count(*) FILTER (WHERE status = 'LATE') AS late,
       count(*) FILTER (WHERE status = 'VIOLATED') AS violated,
       count(*) FILTER (WHERE status = 'OPEN') AS open
FROM obligations
GROUP BY 1, 2, 3;
