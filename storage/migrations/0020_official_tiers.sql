-- Issue 18 point 3: every official has a tier and a city. Both are in the schema since 0001
-- (officials.level: 'province' | 'city' | 'county', with a CHECK; officials.city: a code of
-- bot/cities.py, empty for a provincial leader who has none). /stats, /charts and the ledger
-- are cut by the tier and the city of a request's holder and of its enterprise: these indexes
-- serve the joins and the per-round counts of officials, enterprises and visits.
CREATE INDEX officials_by_tier ON officials(level, city);
CREATE INDEX visits_by_official ON site_visits(official_id, enterprise_id);
