//! Integration tests of the LTV engine: published CDNOW estimates and
//! golden values, ₂F₁ against mpmath, parameter recovery, RFM summaries,
//! predictions and bad input. One test binary, one module per concern.

mod cdnow;
mod degenerate;
mod fixtures;
mod hyp2f1;
mod predictions;
mod recovery;
mod summary;
