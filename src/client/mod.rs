//! The DCI client. STUB: owned by the client work.
