//! Integration tests for the `elf` crate: hand-built images, real binaries
//! compiled with the host C compiler, and property tests.

mod builder;
mod cases;
mod errors;
mod prop;
mod real;
