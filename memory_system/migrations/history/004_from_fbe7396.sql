-- Brings a database whose migration 004 was applied from its text at fbe7396 (before the
-- entity search indexes, aa2c0de) to what the current 004 creates: the statements below are
-- the current file's entity-search section, verbatim, so sqlite_master ends up identical.
-- Run by store/migrations.mend in one transaction with the checksum update.

-- Entity search (search_nodes: a case-insensitive substring of a name, type or observation)
-- reads these trigram indexes instead of scanning every observation. They only narrow the
-- candidates: store/entities.py re-checks each one with Python's str.lower(), the reference
-- semantics. Where SQLite's case folding could disagree with str.lower() (characters outside
-- the ranges below, which tests/store/test_entities.py verifies one by one; NUL), the row is
-- marked odd = 'odd' and always re-checked, so no match can be lost. Text whose length in
-- characters equals its length in bytes is ASCII without NUL, all inside the ranges.
-- GLOB for "holds a character outside the ranges"; each range is written char(first, '-', last).
-- A view, not a table: configuration, not data (db impact counts no rows in it).
CREATE VIEW entity_search_charset (pattern) AS SELECT '*[^' || char(
        0x1, 45, 0xB4,
        0xB6, 45, 0x12F, 0x131, 45, 0x17E, 0x180, 45, 0x344, 0x346, 45, 0x37E,
        0x380, 45, 0x3A2, 0x3A4, 45, 0x3C1, 0x3C3, 45, 0x3CF, 0x3D2, 45, 0x3D4,
        0x3D7, 45, 0x3EF, 0x3F2, 45, 0x3F4, 0x3F6, 45, 0x527, 0x530, 45, 0x6FF,
        0x900, 45, 0xDFF, 0x1E00, 45, 0x1E9A, 0x1E9C, 45, 0x1FBD, 0x1FBF, 45, 0x2BFF,
        0x2E80, 45, 0x9FFF, 0xAC00, 45, 0xD7A3, 0xF900, 45, 0xFAFF, 0xFE30, 45, 0xFE4F,
        0xFF00, 45, 0xFFEF, 0x1F000, 45, 0x1FAFF
    ) || ']*';

CREATE VIRTUAL TABLE entities_search_fts USING fts5(
    name, entity_type, odd, tokenize = 'trigram', content = '', contentless_delete = 1
);
CREATE VIRTUAL TABLE observations_search_fts USING fts5(
    content, odd, tokenize = 'trigram', content = '', contentless_delete = 1
);

CREATE TRIGGER entities_search_insert AFTER INSERT ON entities BEGIN
    INSERT INTO entities_search_fts (rowid, name, entity_type, odd)
    SELECT new.id, new.name, new.entity_type,
           CASE WHEN length(new.name || new.entity_type) = length(CAST(new.name || new.entity_type AS BLOB))
                  THEN '' -- ASCII without NUL: the common case, no GLOB
                WHEN new.name GLOB c.pattern OR new.entity_type GLOB c.pattern
                  OR instr(CAST(new.name || new.entity_type AS BLOB), x'00') > 0 THEN 'odd' ELSE '' END
    FROM entity_search_charset c;
END;
CREATE TRIGGER entities_search_delete AFTER DELETE ON entities BEGIN
    DELETE FROM entities_search_fts WHERE rowid = old.id;
END;
CREATE TRIGGER entities_search_update AFTER UPDATE OF name, entity_type ON entities BEGIN
    DELETE FROM entities_search_fts WHERE rowid = old.id;
    INSERT INTO entities_search_fts (rowid, name, entity_type, odd)
    SELECT new.id, new.name, new.entity_type,
           CASE WHEN length(new.name || new.entity_type) = length(CAST(new.name || new.entity_type AS BLOB))
                  THEN '' -- ASCII without NUL: the common case, no GLOB
                WHEN new.name GLOB c.pattern OR new.entity_type GLOB c.pattern
                  OR instr(CAST(new.name || new.entity_type AS BLOB), x'00') > 0 THEN 'odd' ELSE '' END
    FROM entity_search_charset c;
END;

CREATE TRIGGER observations_search_insert AFTER INSERT ON observations BEGIN
    INSERT INTO observations_search_fts (rowid, content, odd)
    SELECT new.id, new.content,
           CASE WHEN length(new.content) = length(CAST(new.content AS BLOB)) THEN ''
                WHEN new.content GLOB c.pattern OR instr(CAST(new.content AS BLOB), x'00') > 0
                THEN 'odd' ELSE '' END
    FROM entity_search_charset c;
END;
CREATE TRIGGER observations_search_delete AFTER DELETE ON observations BEGIN
    DELETE FROM observations_search_fts WHERE rowid = old.id;
END;
CREATE TRIGGER observations_search_update AFTER UPDATE OF content ON observations BEGIN
    DELETE FROM observations_search_fts WHERE rowid = old.id;
    INSERT INTO observations_search_fts (rowid, content, odd)
    SELECT new.id, new.content,
           CASE WHEN length(new.content) = length(CAST(new.content AS BLOB)) THEN ''
                WHEN new.content GLOB c.pattern OR instr(CAST(new.content AS BLOB), x'00') > 0
                THEN 'odd' ELSE '' END
    FROM entity_search_charset c;
END;

-- A database migrated from 003 may hold a Phase 1 graph already.
INSERT INTO entities_search_fts (rowid, name, entity_type, odd)
SELECT e.id, e.name, e.entity_type,
       CASE WHEN length(e.name || e.entity_type) = length(CAST(e.name || e.entity_type AS BLOB)) THEN ''
            WHEN e.name GLOB c.pattern OR e.entity_type GLOB c.pattern
              OR instr(CAST(e.name || e.entity_type AS BLOB), x'00') > 0 THEN 'odd' ELSE '' END
FROM entities e, entity_search_charset c;
INSERT INTO observations_search_fts (rowid, content, odd)
SELECT o.id, o.content,
       CASE WHEN length(o.content) = length(CAST(o.content AS BLOB)) THEN ''
            WHEN o.content GLOB c.pattern OR instr(CAST(o.content AS BLOB), x'00') > 0 THEN 'odd' ELSE '' END
FROM observations o, entity_search_charset c;
