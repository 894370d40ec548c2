//! A simulated exchange (filled in below).
