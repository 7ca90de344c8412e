-- enrollkit schema, version 4: a counter that every change to a program or its steps bumps,
-- whichever connection or process makes it. Writers keep the programs they read between
-- operations and trust them while the counter is unchanged (Store::program): reading one row
-- instead of the program and its steps on every enrollment change.
CREATE TABLE program_version (
    id       INTEGER PRIMARY KEY CHECK (id = 1),
    version  INTEGER NOT NULL
);
INSERT INTO program_version (id, version) VALUES (1, 0);
CREATE TRIGGER programs_inserted AFTER INSERT ON programs
    BEGIN UPDATE program_version SET version = version + 1; END;
CREATE TRIGGER programs_updated AFTER UPDATE ON programs
    BEGIN UPDATE program_version SET version = version + 1; END;
CREATE TRIGGER programs_deleted AFTER DELETE ON programs
    BEGIN UPDATE program_version SET version = version + 1; END;
CREATE TRIGGER program_steps_inserted AFTER INSERT ON program_steps
    BEGIN UPDATE program_version SET version = version + 1; END;
CREATE TRIGGER program_steps_updated AFTER UPDATE ON program_steps
    BEGIN UPDATE program_version SET version = version + 1; END;
CREATE TRIGGER program_steps_deleted AFTER DELETE ON program_steps
    BEGIN UPDATE program_version SET version = version + 1; END;
