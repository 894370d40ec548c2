//! The OpenRTB 2.5/2.6 protocol: request types (zero-copy) and their reader,
//! validation, response types and no-bid reason codes.

pub mod nbr;
pub mod reader;
pub mod request;
pub mod response;
pub mod validate;

pub use nbr::NoBidReason;
pub use reader::{ReadError, read_bid_request};
pub use request::BidRequest;
pub use response::{BidResponse, CpmMicros, OPENRTB_VERSION_HEADER, ParsedBidResponse};
pub use validate::{MAX_BODY_BYTES, parse_bid_request, validate};
