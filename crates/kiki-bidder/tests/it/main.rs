//! Integration tests of kiki-bidder: one binary, one module per concern.

mod support;

mod behaviour;
mod fixtures;
mod mutation;
mod props;
mod reader;
mod sim;
