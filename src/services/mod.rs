//! Registry services (CRVS, IBR, DR). STUB: owned by the client work.
