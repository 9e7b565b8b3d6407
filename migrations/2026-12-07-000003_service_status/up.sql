-- Whether a service is offered now (HSDS 3.0 `service.status`): a shelter closed by a flood
-- or for repairs, or a program that ended, stays in the directory but out of every search
-- until it is open again. HSDS's "temporarily closed" is written `temporarily_closed`;
-- "defunct" is a deletion.
ALTER TABLE service
    ADD COLUMN status text NOT NULL DEFAULT 'active'
        CHECK (status IN ('active', 'temporarily_closed', 'inactive'));
