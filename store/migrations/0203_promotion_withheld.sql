-- A promotion whose certificate was withheld (body revoked, level out of its scope) no
-- longer counts toward the one-promotion-a-year limit.
ALTER TABLE incentives.promotions DROP CONSTRAINT promotions_status_check;
ALTER TABLE incentives.promotions
    ADD CONSTRAINT promotions_status_check CHECK (status IN ('started', 'refused', 'withheld'));
