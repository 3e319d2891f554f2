/*
  Warnings:

  - A unique constraint covering the columns `[number]` on the table `Connection` will be added. If there are existing duplicate values, this will fail.
  - A unique constraint covering the columns `[number]` on the table `Destination` will be added. If there are existing duplicate values, this will fail.
  - A unique constraint covering the columns `[number]` on the table `Pipeline` will be added. If there are existing duplicate values, this will fail.

*/
-- AlterTable
ALTER TABLE "Connection" ADD COLUMN     "number" INTEGER NOT NULL DEFAULT 0;

-- AlterTable
ALTER TABLE "Destination" ADD COLUMN     "number" INTEGER NOT NULL DEFAULT 0;

-- AlterTable
ALTER TABLE "Pipeline" ADD COLUMN     "number" INTEGER NOT NULL DEFAULT 0;

-- CreateTable
CREATE TABLE "ObjectCounter" (
    "model" TEXT NOT NULL,
    "last" INTEGER NOT NULL,

    CONSTRAINT "ObjectCounter_pkey" PRIMARY KEY ("model")
);

-- Existing rows are numbered in creation order, before the unique indexes
UPDATE "Connection" AS o SET "number" = n."rn" FROM (SELECT "id", ROW_NUMBER() OVER (ORDER BY "createdAt", "id") AS "rn" FROM "Connection") AS n WHERE o."id" = n."id";
UPDATE "Destination" AS o SET "number" = n."rn" FROM (SELECT "id", ROW_NUMBER() OVER (ORDER BY "createdAt", "id") AS "rn" FROM "Destination") AS n WHERE o."id" = n."id";
UPDATE "Pipeline" AS o SET "number" = n."rn" FROM (SELECT "id", ROW_NUMBER() OVER (ORDER BY "createdAt", "id") AS "rn" FROM "Pipeline") AS n WHERE o."id" = n."id";

-- CreateIndex
CREATE UNIQUE INDEX "Connection_number_key" ON "Connection"("number");

-- CreateIndex
CREATE UNIQUE INDEX "Destination_number_key" ON "Destination"("number");

-- CreateIndex
CREATE UNIQUE INDEX "Pipeline_number_key" ON "Pipeline"("number");

-- Numbers are given by the database, so every way of creating an object (API, CLI, a future
-- importer) gets one. The counter row's lock, held until the inserting transaction ends, orders
-- concurrent inserts, and a rolled-back insert gives its number back with it.
INSERT INTO "ObjectCounter" ("model", "last") SELECT 'Connection', COUNT(*) FROM "Connection";
INSERT INTO "ObjectCounter" ("model", "last") SELECT 'Destination', COUNT(*) FROM "Destination";
INSERT INTO "ObjectCounter" ("model", "last") SELECT 'Pipeline', COUNT(*) FROM "Pipeline";

-- The body is written without a literal semicolon (\073 in an E'' string): the Prisma pg adapter that
-- replays migrations for `wasm-migrate dev` splits scripts at every semicolon, dollar quotes included.
CREATE FUNCTION "next_object_number"() RETURNS trigger LANGUAGE plpgsql AS E'BEGIN
    UPDATE "ObjectCounter" SET "last" = "last" + 1 WHERE "model" = TG_TABLE_NAME RETURNING "last" INTO NEW."number"\073
    RETURN NEW\073
END'
;
CREATE TRIGGER "Connection_number" BEFORE INSERT ON "Connection" FOR EACH ROW EXECUTE FUNCTION "next_object_number"();
CREATE TRIGGER "Destination_number" BEFORE INSERT ON "Destination" FOR EACH ROW EXECUTE FUNCTION "next_object_number"();
CREATE TRIGGER "Pipeline_number" BEFORE INSERT ON "Pipeline" FOR EACH ROW EXECUTE FUNCTION "next_object_number"();
