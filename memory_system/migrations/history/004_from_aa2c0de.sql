-- Brings a database whose migration 004 was applied from its text at aa2c0de (where
-- entity_search_charset was a table holding one row, before 8cc23e8) to what the current 004
-- creates: the same pattern as a view. The triggers that read it are already the current
-- ones: they name entity_search_charset, which after this is the view. The CREATE VIEW below
-- is the current file's, verbatim, so sqlite_master ends up identical.
-- Run by store/migrations.mend in one transaction with the checksum update.
DROP TABLE entity_search_charset;
CREATE VIEW entity_search_charset (pattern) AS SELECT '*[^' || char(
        0x1, 45, 0xB4,
        0xB6, 45, 0x12F, 0x131, 45, 0x17E, 0x180, 45, 0x344, 0x346, 45, 0x37E,
        0x380, 45, 0x3A2, 0x3A4, 45, 0x3C1, 0x3C3, 45, 0x3CF, 0x3D2, 45, 0x3D4,
        0x3D7, 45, 0x3EF, 0x3F2, 45, 0x3F4, 0x3F6, 45, 0x527, 0x530, 45, 0x6FF,
        0x900, 45, 0xDFF, 0x1E00, 45, 0x1E9A, 0x1E9C, 45, 0x1FBD, 0x1FBF, 45, 0x2BFF,
        0x2E80, 45, 0x9FFF, 0xAC00, 45, 0xD7A3, 0xF900, 45, 0xFAFF, 0xFE30, 45, 0xFE4F,
        0xFF00, 45, 0xFFEF, 0x1F000, 45, 0x1FAFF
    ) || ']*';
