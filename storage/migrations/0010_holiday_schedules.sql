-- Holiday schedules loaded by an admin (issue #20): one row per year, the State Council's
-- notice as the admin's file gave it (or an estimate the file says it is). They win over the
-- chinesecalendar package and over the statutory holidays computed by the holidays package.
-- Loading a year again replaces its row; `revision` grows with every load, so that a running
-- bot notices a load made by another process (python -m bot holidays load) and reloads.
CREATE TABLE holiday_schedules (
    year            INTEGER PRIMARY KEY CHECK (year BETWEEN 1950 AND 2100),
    official        INTEGER NOT NULL CHECK (official IN (0, 1)),
    source          TEXT NOT NULL DEFAULT '',
    off_days        TEXT NOT NULL CHECK (json_valid(off_days)),
    work_days       TEXT NOT NULL CHECK (json_valid(work_days)),
    file_name       TEXT NOT NULL DEFAULT '',
    file_text       TEXT NOT NULL DEFAULT '',
    loaded_by       INTEGER,
    loaded_at       INTEGER NOT NULL,
    revision        INTEGER NOT NULL UNIQUE
);
