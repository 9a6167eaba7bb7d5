"""Payment providers: one module each, behind the interface in `base`; pick one with `registry`."""
