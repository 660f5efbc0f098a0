-- Each group's present members, counted by the writes that change them (a
-- membership, or whether a user is present), so the groups list reads one
-- number per group instead of probing the presence of every member.
ALTER TABLE directory_groups ADD COLUMN member_count bigint NOT NULL DEFAULT 0;

UPDATE directory_groups g SET member_count = c.n
FROM (SELECT m.dataset, m.group_id, COUNT(*) AS n
      FROM directory_memberships m
      JOIN directory_user_group_counts p ON p.dataset = m.dataset AND p.user_id = m.user_id
      GROUP BY m.dataset, m.group_id) c
WHERE g.dataset = c.dataset AND g.okta_id = c.group_id;
