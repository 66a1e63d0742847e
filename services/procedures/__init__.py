"""The catalogue of administrative procedures and the agencies that carry them out."""
