-- CreateTable
CREATE TABLE "ObjectCounter" (
    "model" TEXT NOT NULL PRIMARY KEY,
    "last" INTEGER NOT NULL
);

-- RedefineTables (existing rows are numbered in creation order)
PRAGMA defer_foreign_keys=ON;
PRAGMA foreign_keys=OFF;
CREATE TABLE "new_Connection" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "name" TEXT NOT NULL,
    "number" INTEGER NOT NULL DEFAULT 0,
    "protocol" TEXT NOT NULL,
    "config" TEXT NOT NULL,
    "secret" TEXT,
    "maxConcurrentRuns" INTEGER,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" DATETIME NOT NULL
);
INSERT INTO "new_Connection" ("config", "createdAt", "id", "name", "protocol", "secret", "maxConcurrentRuns", "updatedAt", "number") SELECT "config", "createdAt", "id", "name", "protocol", "secret", "maxConcurrentRuns", "updatedAt", ROW_NUMBER() OVER (ORDER BY "createdAt", "id") FROM "Connection";
DROP TABLE "Connection";
ALTER TABLE "new_Connection" RENAME TO "Connection";
CREATE UNIQUE INDEX "Connection_name_key" ON "Connection"("name");
CREATE UNIQUE INDEX "Connection_number_key" ON "Connection"("number");
CREATE TABLE "new_Destination" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "name" TEXT NOT NULL,
    "number" INTEGER NOT NULL DEFAULT 0,
    "kind" TEXT NOT NULL,
    "config" TEXT NOT NULL,
    "secret" TEXT,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" DATETIME NOT NULL
);
INSERT INTO "new_Destination" ("config", "createdAt", "id", "kind", "name", "secret", "updatedAt", "number") SELECT "config", "createdAt", "id", "kind", "name", "secret", "updatedAt", ROW_NUMBER() OVER (ORDER BY "createdAt", "id") FROM "Destination";
DROP TABLE "Destination";
ALTER TABLE "new_Destination" RENAME TO "Destination";
CREATE UNIQUE INDEX "Destination_name_key" ON "Destination"("name");
CREATE UNIQUE INDEX "Destination_number_key" ON "Destination"("number");
CREATE TABLE "new_Pipeline" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "name" TEXT NOT NULL,
    "number" INTEGER NOT NULL DEFAULT 0,
    "connectionId" TEXT NOT NULL,
    "destinationId" TEXT NOT NULL,
    "sourceKind" TEXT NOT NULL,
    "entitySet" TEXT,
    "odpContext" TEXT,
    "odpName" TEXT,
    "table" TEXT,
    "fields" TEXT,
    "filter" TEXT,
    "watermarkField" TEXT,
    "pageSize" INTEGER,
    "mode" TEXT NOT NULL,
    "schedule" TEXT,
    "timezone" TEXT,
    "enabled" BOOLEAN NOT NULL DEFAULT true,
    "pathTemplate" TEXT,
    "compression" TEXT,
    "rowGroupRows" INTEGER,
    "maxFileMb" INTEGER,
    "successMarker" BOOLEAN,
    "subscriptionKey" TEXT,
    "heldBy" TEXT,
    "heldAt" DATETIME,
    "subscribedAt" DATETIME,
    "nextRunAt" DATETIME,
    "partitions" INTEGER,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" DATETIME NOT NULL,
    CONSTRAINT "Pipeline_connectionId_fkey" FOREIGN KEY ("connectionId") REFERENCES "Connection" ("id") ON DELETE RESTRICT ON UPDATE CASCADE,
    CONSTRAINT "Pipeline_destinationId_fkey" FOREIGN KEY ("destinationId") REFERENCES "Destination" ("id") ON DELETE RESTRICT ON UPDATE CASCADE
);
INSERT INTO "new_Pipeline" ("compression", "connectionId", "createdAt", "destinationId", "enabled", "entitySet", "fields", "filter", "heldAt", "heldBy", "id", "maxFileMb", "mode", "name", "nextRunAt", "odpContext", "odpName", "pageSize", "pathTemplate", "rowGroupRows", "schedule", "sourceKind", "subscribedAt", "subscriptionKey", "successMarker", "table", "timezone", "updatedAt", "watermarkField", "partitions", "number") SELECT "compression", "connectionId", "createdAt", "destinationId", "enabled", "entitySet", "fields", "filter", "heldAt", "heldBy", "id", "maxFileMb", "mode", "name", "nextRunAt", "odpContext", "odpName", "pageSize", "pathTemplate", "rowGroupRows", "schedule", "sourceKind", "subscribedAt", "subscriptionKey", "successMarker", "table", "timezone", "updatedAt", "watermarkField", "partitions", ROW_NUMBER() OVER (ORDER BY "createdAt", "id") FROM "Pipeline";
DROP TABLE "Pipeline";
ALTER TABLE "new_Pipeline" RENAME TO "Pipeline";
CREATE UNIQUE INDEX "Pipeline_name_key" ON "Pipeline"("name");
CREATE UNIQUE INDEX "Pipeline_number_key" ON "Pipeline"("number");
CREATE UNIQUE INDEX "Pipeline_subscriptionKey_key" ON "Pipeline"("subscriptionKey");
CREATE INDEX "Pipeline_connectionId_idx" ON "Pipeline"("connectionId");
CREATE INDEX "Pipeline_destinationId_idx" ON "Pipeline"("destinationId");
CREATE INDEX "Pipeline_enabled_nextRunAt_idx" ON "Pipeline"("enabled", "nextRunAt");
PRAGMA foreign_keys=ON;
PRAGMA defer_foreign_keys=OFF;

-- Numbers are given by the database, so every way of creating an object (API, CLI, a future
-- importer) gets one. SQLite has one writer, so counting in an AFTER INSERT trigger cannot race:
-- the row is inserted with 0 and numbered within the same statement.
INSERT INTO "ObjectCounter" ("model", "last") SELECT 'Connection', COUNT(*) FROM "Connection";
INSERT INTO "ObjectCounter" ("model", "last") SELECT 'Destination', COUNT(*) FROM "Destination";
INSERT INTO "ObjectCounter" ("model", "last") SELECT 'Pipeline', COUNT(*) FROM "Pipeline";
CREATE TRIGGER "Connection_number" AFTER INSERT ON "Connection" BEGIN
    UPDATE "ObjectCounter" SET "last" = "last" + 1 WHERE "model" = 'Connection';
    UPDATE "Connection" SET "number" = (SELECT "last" FROM "ObjectCounter" WHERE "model" = 'Connection') WHERE "id" = NEW."id";
END;
CREATE TRIGGER "Destination_number" AFTER INSERT ON "Destination" BEGIN
    UPDATE "ObjectCounter" SET "last" = "last" + 1 WHERE "model" = 'Destination';
    UPDATE "Destination" SET "number" = (SELECT "last" FROM "ObjectCounter" WHERE "model" = 'Destination') WHERE "id" = NEW."id";
END;
CREATE TRIGGER "Pipeline_number" AFTER INSERT ON "Pipeline" BEGIN
    UPDATE "ObjectCounter" SET "last" = "last" + 1 WHERE "model" = 'Pipeline';
    UPDATE "Pipeline" SET "number" = (SELECT "last" FROM "ObjectCounter" WHERE "model" = 'Pipeline') WHERE "id" = NEW."id";
END;
