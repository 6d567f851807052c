-- How current the query tables are (issue: `shixin check` must never answer CLEAR when
-- it cannot know). `check` reads the broker time of the newest projected event,
-- max(events.broker_time), with every answer, and refuses to answer when there is
-- none; this index makes that one backward index probe instead of a scan of
-- `events`. Derived events carry their cause's broker time, so the newest input
-- the tables follow from is what it finds.
CREATE INDEX events_broker_time_idx ON events (broker_time);
