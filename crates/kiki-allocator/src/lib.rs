//! kiki-allocator (the lead created this line so the workspace loads; replace freely)
