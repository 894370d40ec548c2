//! Shared domain vocabulary for every KIKI crate: typed ids, money in integer
//! micros, the tenant scope, a settable clock, pagination and the one table of
//! error codes. This crate performs no IO and knows nothing of HTTP or SQL.

pub mod clock;
pub mod error;
pub mod id;
pub mod money;
pub mod page;
pub mod tenant;

pub use clock::{Clock, SystemClock, TestClock};
pub use error::{ErrorCode, FieldError};
pub use id::{JobId, UserId};
pub use money::{Currency, Money, MoneyError};
pub use page::{Cursor, Page, PageRequest};
pub use tenant::{OrgId, TenantScope};
