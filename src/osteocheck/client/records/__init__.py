"""Clinical records: a FHIR R4 bundle -> profile facts, with what was used, set aside or not recognised.

Part of the client layer: may import the engine, parsing and the foundation modules."""
