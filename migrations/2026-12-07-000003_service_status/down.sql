ALTER TABLE service DROP COLUMN status;
