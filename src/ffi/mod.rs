//! The C ABI. STUB: owned by the FFI work.
