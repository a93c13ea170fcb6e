"""Pure rules of the domain: names, schema validation, case versions. No I/O here."""
