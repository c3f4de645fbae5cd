DROP TABLE relations;
DROP TABLE observations;
DROP TABLE entities;
