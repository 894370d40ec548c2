-- Identity (kiki-identity): how an organisation counts profit. Keep in
-- lockstep with ../sqlite/0011_profit.sql (the parity test checks).

-- The contribution margin in basis points (0 to 10000; NULL: not configured,
-- profit figures assume 100 % and say so) and the profit basis of the
-- contract: 'contribution_margin' (net profit uplift = incremental revenue x
-- margin - incremental ad spend) or 'revenue' (revenue counted as profit).
ALTER TABLE organisations ADD COLUMN contribution_margin_bps BIGINT
    CHECK (contribution_margin_bps BETWEEN 0 AND 10000);
ALTER TABLE organisations ADD COLUMN profit_basis TEXT NOT NULL DEFAULT 'contribution_margin'
    CHECK (profit_basis IN ('contribution_margin', 'revenue'));
