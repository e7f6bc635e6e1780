//! INTERFACE STUB: owned by the signature work.
