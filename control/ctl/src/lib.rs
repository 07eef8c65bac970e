//! straitctl: the operator CLI for the Strait agent.
#![forbid(unsafe_code)]
