//! The DCI message model. INTERFACE STUB: owned by the model work.
