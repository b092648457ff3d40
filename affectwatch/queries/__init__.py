"""Every SQL statement of AffectWatch, parameterised, one module per area."""
