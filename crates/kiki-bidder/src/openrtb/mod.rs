//! The OpenRTB 2.5/2.6 protocol: request types (zero-copy), validation, response
//! types and no-bid reason codes.

pub mod nbr;
pub mod request;
pub mod response;
pub mod validate;

pub use nbr::NoBidReason;
pub use request::BidRequest;
pub use response::{BidResponse, CpmMicros, OPENRTB_VERSION_HEADER, ParsedBidResponse};
pub use validate::{MAX_BODY_BYTES, parse_bid_request, validate};
