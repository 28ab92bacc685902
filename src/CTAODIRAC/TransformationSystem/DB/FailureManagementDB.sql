-- FailureManagementDB: what the failure-management agent decided, and whether it was applied.
--
-- Installed by `dirac-install-db FailureManagementDB` (or created by `dirac-ctao-local up`).
-- FailureManagementDB.py creates any missing table with the same definitions.

USE FailureManagementDB;

SET FOREIGN_KEY_CHECKS = 0;

-- One row per decision. IdemKey is the decision's idempotency key: a second insert of the same key (a restart,
-- a second agent) fails on the unique index, so a decision is recorded, and applied, at most once.
-- State: ReportOnly (recorded in report-only mode, never applied), Pending (recorded, not applied yet),
-- Applied, Failed (applying it failed; the reason is in Result).
CREATE TABLE IF NOT EXISTS FMDecisions (
    DecisionID BIGINT NOT NULL AUTO_INCREMENT,
    IdemKey VARCHAR(255) NOT NULL,
    Kind VARCHAR(32) NOT NULL,
    Failure VARCHAR(255) NOT NULL DEFAULT '',
    TransformationID INTEGER DEFAULT NULL,
    ProductionID INTEGER DEFAULT NULL,
    TaskID INTEGER DEFAULT NULL,
    JobID BIGINT DEFAULT NULL,
    Site VARCHAR(128) NOT NULL DEFAULT '',
    Class VARCHAR(32) NOT NULL DEFAULT '',
    Rule VARCHAR(128) NOT NULL DEFAULT '',
    NumFiles INTEGER NOT NULL DEFAULT 0,
    FileChanges MEDIUMTEXT,
    ExpectedStatus VARCHAR(32) NOT NULL DEFAULT '',
    NewStatus VARCHAR(32) NOT NULL DEFAULT '',
    Reason TEXT,
    State VARCHAR(16) NOT NULL,
    Result TEXT,
    Owner VARCHAR(255) NOT NULL DEFAULT '',
    ClaimTime DATETIME DEFAULT NULL,
    CreationTime DATETIME NOT NULL,
    AppliedTime DATETIME DEFAULT NULL,
    PRIMARY KEY (DecisionID),
    UNIQUE INDEX (IdemKey),
    INDEX (TransformationID, Kind),
    INDEX (ProductionID),
    INDEX (State),
    INDEX (CreationTime),
    INDEX (Site),
    INDEX (Class)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4;

-- The files a retry or give-up decision counted as failed: the per-file, per-class budgets are counted here.
CREATE TABLE IF NOT EXISTS FMDecisionFiles (
    DecisionID BIGINT NOT NULL,
    TransformationID INTEGER NOT NULL,
    LFN VARCHAR(255) NOT NULL,
    Class VARCHAR(32) NOT NULL,
    PRIMARY KEY (DecisionID, LFN),
    INDEX (TransformationID, LFN)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4;

-- The tasks without input files (simulation runs) a retry or give-up counted as failed: the per-task budgets.
CREATE TABLE IF NOT EXISTS FMDecisionTasks (
    DecisionID BIGINT NOT NULL,
    TransformationID INTEGER NOT NULL,
    TaskID INTEGER NOT NULL,
    Class VARCHAR(32) NOT NULL,
    PRIMARY KEY (DecisionID),
    INDEX (TransformationID, TaskID)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4;

-- Files kept away from a site in a transformation (applied avoid-site decisions).
CREATE TABLE IF NOT EXISTS FMSiteBans (
    TransformationID INTEGER NOT NULL,
    LFN VARCHAR(255) NOT NULL,
    Site VARCHAR(128) NOT NULL,
    Class VARCHAR(32) NOT NULL,
    DecisionID BIGINT NOT NULL,
    CreationTime DATETIME NOT NULL,
    PRIMARY KEY (TransformationID, LFN, Site),
    INDEX (TransformationID, Site)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4;

-- Small persistent state of the agent, e.g. the high-water mark of the job changes already looked at.
CREATE TABLE IF NOT EXISTS FMState (
    Name VARCHAR(128) NOT NULL,
    Value VARCHAR(255) NOT NULL,
    LastUpdate DATETIME NOT NULL,
    PRIMARY KEY (Name)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4;

SET FOREIGN_KEY_CHECKS = 1;
