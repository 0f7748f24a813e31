-- Skill competitions (职业技能竞赛), tier by tier up to WorldSkills.
-- The CompetitionWorkflow holds the phase; entries, marks, audits and results live here so
-- the workflow's history grows with phases, not with the field. No ID number anywhere:
-- a competitor is their person_key (keyed HMAC), a masked name and a birth year.
CREATE SCHEMA IF NOT EXISTS competitions;

CREATE TABLE competitions.competitions (
    competition_id       text PRIMARY KEY,
    name                 text        NOT NULL,
    tier                 text        NOT NULL,
    occupation_code      text        NOT NULL,
    worldskills_skill    text,
    edition_year         integer     NOT NULL,
    competed_on          date        NOT NULL,
    organiser_id         text        NOT NULL,
    -- the evaluation body that certifies this competition's promotions
    issuing_body_id      text,
    categories           text[]      NOT NULL,
    rule_version         text        NOT NULL,
    marking_scheme       jsonb       NOT NULL,
    -- the higher-tier competition this one's qualifiers advance to
    feeds_competition_id text,
    phase                text        NOT NULL CHECK (phase IN
                             ('entries_open', 'marking', 'locked', 'results_published', 'advanced')),
    created_by           text        NOT NULL,
    created_at           timestamptz NOT NULL,
    updated_at           timestamptz NOT NULL
);
CREATE INDEX competitions_organiser ON competitions.competitions (organiser_id);

-- Who may enter a competition above the base tier: advanced from a lower tier, or nominated.
CREATE TABLE competitions.qualifications (
    competition_id       text        NOT NULL,
    person_key           char(64)    NOT NULL,
    source               text        NOT NULL CHECK (source IN ('advanced', 'nominated')),
    from_competition_id  text,
    from_rank            integer,
    category             text        NOT NULL DEFAULT 'workers',
    holder_name_masked   text        NOT NULL DEFAULT '',
    employer             text        NOT NULL DEFAULT '',
    region               text        NOT NULL DEFAULT '',
    level_held           smallint,
    birth_year           smallint,
    recorded_by          text        NOT NULL,
    recorded_at          timestamptz NOT NULL,
    PRIMARY KEY (competition_id, person_key)
);

CREATE TABLE competitions.entries (
    competition_id       text        NOT NULL REFERENCES competitions.competitions,
    person_key           char(64)    NOT NULL,
    entry_sequence       integer     NOT NULL,
    category             text        NOT NULL CHECK (category IN ('workers', 'students', 'teams')),
    holder_name_masked   text        NOT NULL,
    employer             text        NOT NULL DEFAULT '',
    region               text        NOT NULL DEFAULT '',
    level_held           smallint CHECK (level_held BETWEEN 1 AND 5),
    birth_year           smallint    NOT NULL,
    source               text        NOT NULL CHECK (source IN ('open', 'advanced', 'nominated')),
    status               text        NOT NULL DEFAULT 'entered'
                             CHECK (status IN ('entered', 'withdrawn')),
    entered_by           text        NOT NULL,
    entered_at           timestamptz NOT NULL,
    PRIMARY KEY (competition_id, person_key),
    UNIQUE (competition_id, entry_sequence)
);

CREATE TABLE competitions.judges (
    competition_id       text        NOT NULL REFERENCES competitions.competitions,
    judge_id             text        NOT NULL,
    employer             text        NOT NULL DEFAULT '',
    region               text        NOT NULL DEFAULT '',
    aspects              text[]      NOT NULL,
    assigned_by          text        NOT NULL,
    assigned_at          timestamptz NOT NULL,
    PRIMARY KEY (competition_id, judge_id)
);

-- 回避: a judge sharing an employer or region (per the tier's rule) with a competitor.
CREATE TABLE competitions.recusals (
    competition_id       text        NOT NULL,
    judge_id             text        NOT NULL,
    person_key           char(64)    NOT NULL,
    reason               text        NOT NULL,
    recorded_at          timestamptz NOT NULL,
    PRIMARY KEY (competition_id, judge_id, person_key)
);

CREATE TABLE competitions.marks (
    competition_id       text        NOT NULL,
    person_key           char(64)    NOT NULL,
    aspect_id            text        NOT NULL,
    judge_id             text        NOT NULL,
    module_id            text        NOT NULL,
    value                numeric(6, 2) NOT NULL CHECK (value >= 0),
    revision             integer     NOT NULL DEFAULT 1,
    entered_at           timestamptz NOT NULL,
    updated_at           timestamptz NOT NULL,
    PRIMARY KEY (competition_id, person_key, aspect_id, judge_id),
    FOREIGN KEY (competition_id, person_key) REFERENCES competitions.entries
);
CREATE INDEX marks_by_module ON competitions.marks (competition_id, module_id);

-- Marks are never changed silently: every re-mark and correction leaves a row here.
CREATE TABLE competitions.mark_audit (
    audit_id             bigserial PRIMARY KEY,
    competition_id       text        NOT NULL,
    person_key           char(64)    NOT NULL,
    aspect_id            text        NOT NULL,
    judge_id             text        NOT NULL,
    kind                 text        NOT NULL CHECK (kind IN ('remark', 'correction')),
    previous_value       numeric(6, 2) NOT NULL,
    new_value            numeric(6, 2) NOT NULL,
    reason               text        NOT NULL,
    changed_by           text        NOT NULL,
    changed_at           timestamptz NOT NULL
);
CREATE INDEX mark_audit_by_competition ON competitions.mark_audit (competition_id, person_key);

CREATE TABLE competitions.module_locks (
    competition_id       text        NOT NULL REFERENCES competitions.competitions,
    module_id            text        NOT NULL,
    locked_by            text        NOT NULL,
    locked_at            timestamptz NOT NULL,
    PRIMARY KEY (competition_id, module_id)
);

CREATE TABLE competitions.results (
    competition_id       text        NOT NULL,
    person_key           char(64)    NOT NULL,
    category             text        NOT NULL,
    rank                 integer     NOT NULL,
    field_size           integer     NOT NULL,
    total                numeric(7, 2) NOT NULL,
    scale_score          integer,
    award                text        NOT NULL,
    titles               text[]      NOT NULL DEFAULT '{}',
    promoted_to          smallint,
    advanced             boolean     NOT NULL DEFAULT false,
    PRIMARY KEY (competition_id, person_key)
);

-- Competition promotions granted here; at most one per person per calendar year.
CREATE TABLE competitions.promotions (
    promotion_id         text PRIMARY KEY,
    person_key           char(64)    NOT NULL,
    competition_id       text        NOT NULL,
    to_level             smallint    NOT NULL,
    granted_year         integer     NOT NULL,
    granted_on           date        NOT NULL
);
CREATE UNIQUE INDEX promotions_one_a_year ON competitions.promotions (person_key, granted_year);

-- The national training squad a WorldSkills selection feeds (NationalSquadWorkflow holds the
-- rounds; this is its projection for reads).
CREATE TABLE competitions.squads (
    squad_id                  text PRIMARY KEY,
    selection_competition_id  text        NOT NULL REFERENCES competitions.competitions,
    worldskills_competition_id text       NOT NULL REFERENCES competitions.competitions,
    skill                     text        NOT NULL,
    rounds                    integer[]   NOT NULL,
    current_round             integer     NOT NULL DEFAULT 1,
    team_member_key           char(64),
    formed_at                 timestamptz NOT NULL
);

CREATE TABLE competitions.squad_members (
    squad_id                  text        NOT NULL REFERENCES competitions.squads,
    member                    integer     NOT NULL,
    person_key                char(64)    NOT NULL,
    status                    text        NOT NULL CHECK (status IN
                                  ('active', 'reserve', 'eliminated', 'withdrawn', 'team_member')),
    seed                      integer     NOT NULL,
    last_round                integer     NOT NULL DEFAULT 0,
    last_score                numeric(6, 2),
    updated_at                timestamptz NOT NULL,
    PRIMARY KEY (squad_id, member)
);
