-- Interception lookups (issue 7). The check matches a resident ID also as the legal
-- representative of an organisation listing (consumption bans bind them); this index
-- makes that branch one index scan like the subject and org-code branches.
CREATE INDEX listings_legal_rep_idx ON listings (legal_rep_id)
    WHERE legal_rep_id IS NOT NULL;
