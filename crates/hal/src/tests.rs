//! In-kernel tests of the hardware layer (built with the ktest feature).
