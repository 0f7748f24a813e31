-- A certificate number's serial must be unique for its whole prefix (type, body code,
-- province, site) and year: two bodies filed with the same codes would otherwise hand out
-- the same number. Re-key the counters by prefix, carrying over what was issued.
DROP TABLE certification.serial_counters;

CREATE TABLE certification.serial_counters (
    number_prefix    char(13) NOT NULL,
    issue_year       integer  NOT NULL,
    last_serial      integer  NOT NULL,
    PRIMARY KEY (number_prefix, issue_year)
);

INSERT INTO certification.serial_counters (number_prefix, issue_year, last_serial)
SELECT left(certificate_number, 13), extract(year FROM issued_on)::int,
       max(right(certificate_number, 6)::int)
FROM certification.certificates
GROUP BY 1, 2;
